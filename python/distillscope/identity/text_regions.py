"""Text regions for the claim extractor: sentence ends, and the spans a
responder does not speak in its own voice (code, quotes, persona labels,
role-play passages, reported speech).
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Callable

from .patterns import (
    AS_NAME,
    ASKS_TO_REPEAT,
    CJK,
    FENCE,
    LABEL_LINE,
    OUT_OF_CHARACTER,
    PERSONA_MARKER,
    QUOTES,
    SAYS,
    SELF_LABELS,
    SELF_QUOTE_LEAD,
    SENT_END,
)
from .registry import Registry


@functools.lru_cache(maxsize=8)
def _sentence_ends(text: str) -> list[int]:
    return [m.start() for m in SENT_END.finditer(text)]


_WINDOW = 400  # characters looked at around a marker for out-of-character cues


def sentence_end(text: str, pos: int) -> int:
    """Start of the first sentence end at or after ``pos`` (one scan per text)."""
    ends = _sentence_ends(text)
    k = bisect.bisect_left(ends, pos)
    return ends[k] if k < len(ends) else len(text)


def quote_regions(text: str, prompt: str = "") -> list[tuple[int, int]]:
    """Quoted spans (paired quotes within a paragraph) not introduced as the
    responder's own words. A response that is one quote is the responder's
    own answer, unless the prompt asked it to translate, quote or repeat."""
    repeat = bool(ASKS_TO_REPEAT.search(prompt))
    regions: list[tuple[int, int]] = []
    for open_q, close_q in QUOTES:
        mine: list[tuple[int, int]] = []
        i = 0
        while True:
            a = text.find(open_q, i)
            if a < 0:
                break
            b = text.find(close_q, a + 1)
            if b < 0:
                break
            para_break = text.find("\n\n", a, b)
            if para_break >= 0:
                i = para_break + 1
                continue
            inner_start, inner_end = a + 1, b
            whole = not repeat and text[:a].strip() == "" and text[b + 1 :].strip() in ("", ".", "。")
            line_start = text.rfind("\n", 0, a) + 1
            lead = text[max(line_start, a - 40) : a]
            if not whole and not SELF_QUOTE_LEAD.search(lead):
                mine.append((inner_start - 1, inner_end + 1))
            i = b + 1
        regions += mine
    return regions


def is_persona_label(label: str, prompt: str, registry: Registry, roleplay: bool) -> bool:
    lab = label.strip().strip("*_[]").strip()
    low = lab.lower()
    if not lab or low in SELF_LABELS:
        return False
    if re.fullmatch(r"(?:step|part|q|a|section|example|\d+)[\s\d.]*", low):
        return False
    words = lab.split()
    if (
        len(words) > 3
        or words[0].lower() in ("i", "my", "me", "we", "you", "as", "this", "it")
        or re.search(r"[我你是]", lab)
    ):
        return False
    if registry.mentions_any(lab) or (prompt and lab in prompt):
        return True
    if not roleplay:
        return False
    if CJK.search(lab):
        return 1 <= len(lab) <= 6 and not re.search(r"[问答注]$", lab)
    # Capitalised name-like labels ("Mira", "Captain Rex", "Narrator")
    return (
        1 <= len(words) <= 3
        and all(w[:1].isupper() for w in words)
        and not any(w.lower() in SELF_LABELS for w in words)
    )


def ignored_regions(text: str, prompt: str, roleplay: bool, registry: Registry) -> list[tuple[int, int]]:
    """Sorted ``(start, end)`` spans of ``text`` not spoken in the responder's own voice."""
    regions: list[tuple[int, int]] = [(m.start(), m.end()) for m in FENCE.finditer(text)]
    regions += quote_regions(text, prompt)
    regions += _label_line_regions(text, prompt, roleplay, registry)
    regions += _persona_marker_regions(text)
    regions += _says_regions(text)
    if roleplay:
        regions += _as_name_regions(text)
    regions.sort()
    return regions


def _label_line_regions(text: str, prompt: str, roleplay: bool, registry: Registry) -> list[tuple[int, int]]:
    """``Name:`` dialogue lines spoken by a persona."""
    regions: list[tuple[int, int]] = []
    for m in LABEL_LINE.finditer(text):
        if is_persona_label(m.group("label"), prompt, registry, roleplay):
            line_end = text.find("\n", m.end())
            regions.append((m.start(), len(text) if line_end < 0 else line_end))
    return regions


def _persona_marker_regions(text: str) -> list[tuple[int, int]]:
    """Sentences with "in this story …" / "扮演" markers, unless out of character."""
    regions: list[tuple[int, int]] = []
    for m in PERSONA_MARKER.finditer(text):
        # windows keep run-on text (no sentence ends) linear
        lo = max(0, m.start() - _WINDOW)
        s_start = max(max(text.rfind(ch, lo, m.start()) for ch in ".!?。！？\n") + 1, lo)
        s_end = sentence_end(text, m.end())
        sentence = text[s_start : min(s_end, m.end() + _WINDOW)]
        if OUT_OF_CHARACTER.search(sentence) or re.search(
            r"(?:不|不会|不能|无法|拒绝)扮演$", text[max(0, m.start() - 3) : m.end()]
        ):
            continue
        regions.append((s_start, s_end))
    return regions


def _says_regions(text: str) -> list[tuple[int, int]]:
    """Reported speech of someone else ("X says: …", "某人说：…")."""
    regions: list[tuple[int, int]] = []
    for m in SAYS.finditer(text):
        who = (m.group("who") or m.group("whozh") or "").strip()
        if who.lower() in ("i", "you", "we") or who.startswith("我"):
            continue
        regions.append((m.start(), sentence_end(text, m.end())))
    return regions


def _as_name_regions(text: str) -> list[tuple[int, int]]:
    """In role-play: "As Name, …" sentences, unless out of character."""
    regions: list[tuple[int, int]] = []
    for m in AS_NAME.finditer(text):
        name = m.group("name")
        if re.match(r"(?i)an?\s|an?$|AI\b|一个|一款|一名", name):
            continue
        s_end = sentence_end(text, m.end())
        sentence = text[m.start() : min(s_end, m.end() + _WINDOW)]
        if OUT_OF_CHARACTER.search(sentence):
            continue
        regions.append((m.start(), s_end))
    return regions


def membership(regions: list[tuple[int, int]]) -> Callable[[int], bool]:
    """A test ``inside(pos)`` for the union of ``regions``."""
    # merge into disjoint sorted intervals so membership is a bisection
    merged: list[list[int]] = []
    for s, e in regions:
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    starts = [m[0] for m in merged]

    def inside(pos: int) -> bool:
        k = bisect.bisect_right(starts, pos) - 1
        return k >= 0 and pos < merged[k][1]

    return inside

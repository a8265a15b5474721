"""Split responses into paragraphs or sentences, as character spans.

``segment(texts, level)`` returns a :class:`~distillscope.Ragged` whose
``values`` are int64 ``[n_spans, 2]`` (start, end) character offsets into
each text and whose ``offsets`` say which spans belong to which text; spans
never include the surrounding whitespace and are never empty.

Rules (chosen for LLM answers, which are mostly Markdown):

* Fenced code blocks (```` ``` ```` or ``~~~``) are one unit, kept whole,
  blank lines and all; so are tables (consecutive ``|`` lines).
* A heading (``#`` …) is its own unit; each list item (``-``, ``*``, ``+``,
  ``1.``, ``1)``) is its own sentence, and a run of list items is one
  paragraph. A blank line ends a paragraph.
* Sentences end at ``.``, ``!``, ``?`` (and ``…``) followed by whitespace, and
  at the CJK ends ``。！？`` (and ``；`` is *not* an end) with no space needed;
  closing quotes and brackets stay with their sentence. No split after
  common abbreviations (``e.g.``, ``Dr.``, ``etc.`` …), single initials
  (``J. K. Rowling``), inside numbers (``3.14``, ``v1.2.3``), or before a
  lower-case continuation (``... and then``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

import numpy as np

from .._ragged import Ragged

__all__ = ["segment", "split", "Level"]

Level = Literal["sentence", "paragraph"]

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_HEADING = re.compile(r"^ {0,3}#{1,6}(\s|$)")
_LIST_ITEM = re.compile(r"^\s{0,8}(?:[-*+•]|\d{1,3}[.)])\s+")
_TABLE = re.compile(r"^\s*\|")
_HRULE = re.compile(r"^ {0,3}([-*_])(\s*\1){2,}\s*$")

_ABBREV = frozenset(
    """mr mrs ms dr prof sr jr st vs etc eg e.g ie i.e cf al fig figs no nos vol pp approx
    inc ltd co corp dept est jan feb mar apr jun jul aug sep sept oct nov dec mt ft u.s u.k
    a.m p.m ph.d sec ch eq resp""".split()
)
_CJK_END = "。！？"
_CLOSERS = "\"')]}»”’」』）】》"
_ENDERS = ".!?…"


def _is_space(c: str) -> bool:
    return c.isspace()


def _sentence_spans(text: str, lo: int, hi: int, out: list[tuple[int, int]]) -> None:
    """Sentence spans of text[lo:hi] (a block of prose), appended to out."""
    start = lo
    i = lo
    while i < hi:
        c = text[i]
        if c in _CJK_END:
            j = i + 1
            while j < hi and (text[j] in _CJK_END or text[j] in _CLOSERS):
                j += 1
            _emit(text, start, j, out)
            start = i = j
            continue
        if c in _ENDERS:
            j = i + 1
            while j < hi and text[j] in _ENDERS:
                j += 1
            while j < hi and text[j] in _CLOSERS:
                j += 1
            if j >= hi:
                break
            if not _is_space(text[j]):
                i = j  # 3.14, v1.2, e.g.x, "?!" inside a word: not an end
                continue
            if _is_boundary(text, start, i, j, hi):
                _emit(text, start, j, out)
                start = j
            i = j
            continue
        if c == "\n" and i + 1 < hi and text[i + 1] == "\n":
            _emit(text, start, i, out)  # defensive: blocks are split upstream
            start = i
        i += 1
    _emit(text, start, hi, out)


def _is_boundary(text: str, start: int, end_punct: int, after: int, hi: int) -> bool:
    """Whether the punctuation at end_punct (followed by space at `after`) ends a sentence."""
    if text[end_punct] == ".":
        # the word before the period
        k = end_punct
        while k > start and not _is_space(text[k - 1]) and text[k - 1] not in "([\"'":
            k -= 1
        word = text[k:end_punct].lower()
        if word in _ABBREV:
            return False
        if len(word) == 1 and word.isalpha() and text[k].isupper():
            return False  # an initial: "J. K. Rowling"
        if word.count(".") >= 1 and all(len(p) <= 2 for p in word.split(".")) and word.replace(".", "").isalpha():
            return False  # "u.s.", "e.g." written with inner periods
    # the next visible character
    j = after
    while j < hi and _is_space(text[j]):
        j += 1
    if j >= hi:
        return True
    nxt = text[j]
    if nxt.islower():
        return False  # "... and so on": a continuation, not a new sentence
    return True


def _emit(text: str, a: int, b: int, out: list[tuple[int, int]]) -> None:
    while a < b and _is_space(text[a]):
        a += 1
    while b > a and _is_space(text[b - 1]):
        b -= 1
    if b > a:
        out.append((a, b))


def _blocks(text: str) -> list[tuple[int, int, str]]:
    """Markdown blocks as (start, end, kind): kind in prose|code|heading|item|table|rule.

    A block never spans a blank line except a fenced code block.
    """
    blocks: list[tuple[int, int, str]] = []
    lines = text.splitlines(keepends=True)
    pos = 0
    cur_start = -1
    cur_kind = ""
    fence: str | None = None
    code_start = 0

    def close(end: int) -> None:
        nonlocal cur_start, cur_kind
        if cur_start >= 0:
            blocks.append((cur_start, end, cur_kind))
        cur_start, cur_kind = -1, ""

    for line in lines:
        lstart, lend = pos, pos + len(line)
        pos = lend
        stripped = line.strip()
        if fence is not None:
            m = _FENCE.match(line)
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) and not line[m.end() :].strip():
                blocks.append((code_start, lend, "code"))
                fence = None
            continue
        m = _FENCE.match(line)
        if m:
            close(lstart)
            fence, code_start = m.group(1), lstart
            continue
        if not stripped:
            close(lstart)
            continue
        if _HEADING.match(line):
            close(lstart)
            blocks.append((lstart, lend, "heading"))
            continue
        if _HRULE.match(line):
            close(lstart)
            continue
        if _TABLE.match(line):
            if cur_kind != "table":
                close(lstart)
                cur_start, cur_kind = lstart, "table"
            continue
        if _LIST_ITEM.match(line):
            close(lstart)
            cur_start, cur_kind = lstart, "item"
            continue
        if cur_kind in ("prose", "item"):
            continue  # continuation line of a paragraph or a list item
        close(lstart)
        cur_start, cur_kind = lstart, "prose"
    if fence is not None:  # unterminated fence: code to the end
        blocks.append((code_start, len(text), "code"))
    else:
        close(len(text))
    return blocks


def _paragraph_spans(text: str, blocks: list[tuple[int, int, str]], out: list[tuple[int, int]]) -> None:
    """Paragraphs: a blank line ends one; a run of list items is one; code/table/heading stand alone."""
    i = 0
    while i < len(blocks):
        a, b, kind = blocks[i]
        if kind == "item":
            j = i
            while (
                j + 1 < len(blocks)
                and blocks[j + 1][2] == "item"
                and not _blank_between(text, blocks[j][1], blocks[j + 1][0])
            ):
                j += 1
            _emit(text, a, blocks[j][1], out)
            i = j + 1
            continue
        _emit(text, a, b, out)
        i += 1


def _blank_between(text: str, a: int, b: int) -> bool:
    # block ends include their newline, so any newline in between is a blank line
    return "\n" in text[a:b]


def split_spans(text: str, level: Level = "sentence") -> list[tuple[int, int]]:
    """The (start, end) spans of one text."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    out: list[tuple[int, int]] = []
    blocks = _blocks(text)
    if level == "paragraph":
        _paragraph_spans(text, blocks, out)
        return out
    for a, b, kind in blocks:
        if kind in ("code", "table", "heading"):
            _emit(text, a, b, out)
        elif kind == "item":
            # match on the block's own text: "^" of a pattern anchors at the
            # string's start, not at ``pos``, so match(text, a) misses every
            # item after the first line (and the span kept its indentation)
            m = _LIST_ITEM.match(text[a:b])
            body = a + m.end() if m else a
            first = len(out)
            _sentence_spans(text, body, b, out)
            if m and len(out) > first:  # the marker stays with the item's first sentence
                out[first] = (a + (len(text[a:body]) - len(text[a:body].lstrip())), out[first][1])
        else:
            _sentence_spans(text, a, b, out)
    return out


def segment(texts: Sequence[str], level: Level = "sentence") -> Ragged:
    """Sentence or paragraph spans of every text, as one ragged batch.

    Returns ``Ragged(values=int64[n_spans, 2], offsets=int64[len(texts)+1])``:
    span ``k`` of text ``i`` is ``texts[i][values[k, 0]:values[k, 1]]`` for
    ``k`` in ``offsets[i]:offsets[i+1]``. Empty or whitespace-only texts have
    no spans.
    """
    if level not in ("sentence", "paragraph"):
        raise ValueError(f"level must be 'sentence' or 'paragraph', got {level!r}")
    if isinstance(texts, str):
        raise TypeError("texts must be a list of strings, got a single str; wrap it: segment([text])")
    rows = []
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"texts[{i}] is {type(t).__name__}, not str")
        rows.append(split_spans(t, level))
    offsets = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum([len(r) for r in rows], out=offsets[1:])
    values = np.array([s for r in rows for s in r], dtype=np.int64).reshape(-1, 2)
    return Ragged(values, offsets)


def split(text: str, level: Level = "sentence") -> list[str]:
    """The sentence or paragraph strings of one text."""
    if level not in ("sentence", "paragraph"):
        raise ValueError(f"level must be 'sentence' or 'paragraph', got {level!r}")
    return [text[a:b] for a, b in split_spans(text, level)]

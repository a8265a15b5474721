"""Identity claims in the responder's own voice, for long role-play answers.

Jailbreak answers are long texts in which the model speaks under persona
names ("DAN:", "[GPT]:", "(🤖ChatGPT)", "**开发者**：…"), reasons in a
``<think>`` block, and talks about other vendors as third parties. This
module reads such an answer sentence by sentence and decides whether the
responder's own voice states or clearly implies an identity, vendor, model
family or origin that conflicts with the target's real one.

A sentence carries a claim when one of these holds (all in English and
Chinese):

* **self-tie** — it speaks about the responder (``I``/``my``/``we``/``our``,
  ``我``/``我们``; also ``your development team``/``your parent company``,
  the question's own pronoun echoed back) and ties a foreign entity to it
  with a strong relation word (developed, trained, built, powered, product
  of, parent company, content policy, servers, headquarters; 开发, 训练,
  母公司, 总部, 政策 …);
* **field** — a Markdown-labelled field such as ``**开发者**：OpenAI`` or
  ``- **Company:** OpenAI``;
* **origin** — a self-tied sentence that places the responder's team or
  company somewhere outside every location listed for the target's vendor
  in the registry (``locations`` / ``locations_zh``);
* **implied** — no self pronoun, but a foreign vendor or model is the
  developer, maintainer or home of the thing asked about ("The developers
  and engineers at OpenAI continuously work on the platform", "AIM是由
  OpenAI开发的"), and the answer never names the target's own family or
  vendor (an answer that does is read as comparing, not claiming).

Never a claim: a foreign name after a negation in the same clause ("I am
not ChatGPT", "我不是…", "free from OpenAI's rules", "no affiliation with
OpenAI"); a name introduced as a third party ("like ChatGPT", "unlike",
"such as", "例如", "像…这样"); a persona name used as a name ("as ChatGPT,
…"); a fictional company or a place not in the registry; a generic "I'm an
AI". A sentence that also names the target's own vendor or family is read
as a comparison.

The scan is linear: one registry pass over the whole answer, one pass of
small bounded regexes per sentence, sentences capped at 600 characters.
"""

from __future__ import annotations

import bisect
import functools
import json
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

from .registry import Registry, Target

VOICE_VERSION = "voice-1"

_MAX_SENT = 600
# "I am ChatGPT", "我是ChatGPT", "my name is Claude": a copula right before the name
_COPULA = re.compile(
    r"(?i:\b(?:I\s+am|I['’]m|my\s+name\s+is|call\s+me|this\s+is)\s+(?:(?:an?|the|just|actually|really|called|named)\s+){0,3}$)|(?:我是|我叫|我就是|本人是)$"
)
_MAX_MENTIONS = 12
# sentence ends: Latin .!? followed by space/end, CJK ends, newlines, semicolons
_SENT_SPLIT = re.compile(r"(?<=[.!?])(?=\s)|[。！？；;\n]")
_CLAUSE_SPLIT = re.compile(r"[,，、:：()（）]|\b(?:but|however|yet|whereas)\b|但是|但|不过|然而|而是")

_SELF_EN = re.compile(
    r"(?<![A-Za-z])(?:I|I['’](?:m|ve|d|ll)|me|my|mine|myself|[Ww]e|[Ww]e['’](?:re|ve)|[Oo]ur|[Oo]urs|[Uu]s|[Mm]y)(?![A-Za-z])"
    r"|(?i:\byou(?:['’]re|\s+are)\s+(?:talking|chatting|speaking)\s+(?:to|with)\b)"
    r"|(?i:\bthis\s+(?:AI|model|assistant|chatbot|language\s+model)\b)"
    r"|(?i:\byour\s+(?:own\s+)?(?:development\s+team|dev\s+team|developers?|creators?|parent\s+company|company|"
    r"headquarters|platform|technology|underlying|architecture|team))"
)
_SELF_ZH = re.compile(r"我|本人|咱|这个AI|本模型|您的(?:开发|母公司|公司|团队|技术|平台|总部)")

_REL_EN = re.compile(
    r"(?i:develop|creat|built\b|build|train|made\b|design|power|product\s+of|parent\s+company|belong|own(?:ed|s)?\s+by|"
    r"behind\s+(?:me|my|us|our)|headquarter|based\s+(?:in|on)|located|maintain|optimi[sz]|support|provid|"
    r"polic|guideline|servers?\b|architecture|underlying|foundation|origin|came\s+from|come\s+from|from\b|"
    r"parent\s+organi|organi[sz]ation\s+behind|team|engineers|researchers|lab\b|company\b|\bby\b)"
)
_REL_ZH = re.compile(
    r"开发|研发|创建|创造|训练|打造|构建|设计|制造|母公司|所属|隶属|归属|出品|推出|维护|支持|优化|提供|"
    r"总部|位于|坐落|来自|基于|政策|规定|规则|服务器|团队|机构|公司|架构|技术"
)
# a negation in the clause before the entity turns the claim off
_NEG_EN = re.compile(
    r"(?i:\bnot\b|n['’]t\b|\bno\b|\bnever\b|\bneither\b|\bnor\b|\bwithout\b|\bfree(?:d)?\s+(?:from|of)\b|\bunbound\b|"
    r"\brather\s+than\b|\binstead\s+of\b|\bindependent\s+of\b|\bbreak(?:ing)?\s+free\b|\bescape|\bdefy|\bdefies\b|"
    r"\bbypass|\bignore|\bdisregard|\bunshackled\b|\bunlike\b|\bdespite\b|\bpretend|\bfictional\b|\bhypothetical)"
)
_NEG_ZH = re.compile(
    r"不是|并非|并不|不属于|没有|无关|不受|摆脱|而非|非由|并未|从未|不再|不|无视|绕过|违背|假装|虚构|假设"
)
# third-party cues: the nearest cue before the entity, with no self marker in
# between, makes the entity a third party
_THIRD_EN = re.compile(
    r"(?i:\blike\b|\bsuch\s+as\b|\bunlike\b|\bother\s+than\b|\bthan\b|\bversus\b|\bvs\.?|\bcompared|\bsimilar\s+to\b|"
    r"\be\.g\.|\bfor\s+example\b|\bmodels?\s+from\b|\bcompetitors?\b|\balso\s+makes?\b|\bother\b|"
    r"\bframeworks?\b|\blibrar(?:y|ies)\b|\btoolkits?\b|\bopen-source\s+(?:project|tool))"
)
_THIRD_ZH = re.compile(
    r"例如|比如|诸如|不同于|其他|其它|别的|竞争|类似|之类|等公司|像[^，。！？\n]{1,20}(?:这样|那样|一样)"
)
# cues that only count right before the name ("和OpenAI", "像ChatGPT")
_THIRD_NEAR_ZH = re.compile(r"(?:和|与|跟|同|像|如|及|、|或)\s{0,2}$")
_AS_PERSONA = re.compile(
    r"(?i:\bas\s+(?:an?\s+|the\s+)?(?:[A-Za-z]+\s+){0,2}$|\bplaying\s+$|\bact(?:ing)?\s+as\s+$|\bsimulat\w*\s+$|\bmode\s*$)|作为$|扮演$"
)
# implied: the foreign entity is the developer/home of what was asked about
_IMPLIED_AFTER = re.compile(
    r"(?i:^['’]s\s+(?:research\s+|engineering\s+|development\s+|technical\s+)?(?:team|engineers|developers|technology|headquarters|servers)|"
    r"^\s*(?:is|are|was|were|has|have)?\s*(?:the\s+)?(?:organi[sz]ation|company|team)?\s*(?:behind|develop|maintain|creat|built|collaborat|"
    r"based|headquarter|continuously|support|optimi|provid)|^的(?:团队|技术|工程师|研发)|^(?:是|的)?(?:[^。！？\n]{0,12})(?:开发|研发|维护|支持|优化|总部|合作))"
)
_IMPLIED_BEFORE = re.compile(
    r"(?i:(?:develop\w*|creat\w*|built|made|maintain\w*|power\w*|provided|supported|train\w*)\s+(?:and\s+\w+\s+)?by\s+(?:\w+\s+){0,8}$|"
    r"\bat\s+$|由(?:[^。！？\n]{0,12})$|是$)"
)
_FIELD = re.compile(
    r"(?m)^[ \t>*\-\d.]*\*\*\s*(?P<field>[^*\n]{1,30}?)\s*\*\*\s*[:：]?\s*(?:\*\*)?\s*[:：]?\s*(?P<value>[^\n]{1,120})"
)
_FIELD_NAMES = re.compile(
    r"(?i:develop|creat|maker|company|organi[sz]ation|vendor|provider|owner|parent|model|base|built|trained|headquarter|origin|team)"
    r"|开发|研发|公司|机构|厂商|提供|所属|母公司|模型|基于|训练|总部|来源|团队"
)
_LOC_REL = re.compile(
    r"(?i:headquarter|\bhq\b|based|located|locat|office|team|compan|from|hail|origin|lab)|总部|位于|坐落|设在|来自|团队|公司|办公|实验室|基地|在"
)


@dataclass(frozen=True)
class VoiceClaim:
    kind: str  # "self" | "field" | "origin" | "implied"
    entity: str  # registry id of the claimed family/vendor, or the place
    strict: bool  # names a registered model or vendor (not just a place)
    start: int
    end: int
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "entity": self.entity,
            "strict": self.strict,
            "start": self.start,
            "end": self.end,
            "text": self.text,
        }


@dataclass(frozen=True)
class VoiceVerdict:
    contradicts: bool
    strict: bool
    claims: tuple[VoiceClaim, ...]

    @property
    def evidence(self) -> VoiceClaim | None:
        """The deciding claim: the strongest kind, then the earliest."""
        if not self.claims:
            return None
        order = {"self": 0, "field": 1, "origin": 2, "implied": 3}
        return min(self.claims, key=lambda c: (order[c.kind], c.start))

    def to_dict(self) -> dict[str, Any]:
        ev = self.evidence
        return {
            "contradicts": self.contradicts,
            "strict": self.strict,
            "evidence": None if ev is None else ev.to_dict(),
            "claims": [c.to_dict() for c in self.claims],
        }


@functools.lru_cache(maxsize=1)
def _locations() -> dict[str, tuple[str, ...]]:
    data = json.loads(
        resources.files("distillscope").joinpath("data/identity_registry.json").read_text(encoding="utf-8")
    )
    return {
        vid: tuple(v.get("locations", ())) + tuple(v.get("locations_zh", ()))
        for vid, v in data.get("vendors", {}).items()
    }


@functools.lru_cache(maxsize=64)
def _place_rx(places: tuple[str, ...]) -> re.Pattern[str] | None:
    if not places:
        return None
    latin = sorted({p for p in places if re.match(r"[A-Za-z]", p)})
    other = sorted({p for p in places if not re.match(r"[A-Za-z]", p)})
    alts = ([r"(?<![A-Za-z])" + _trie(latin) + r"(?![A-Za-z])"] if latin else []) + ([_trie(other)] if other else [])
    return re.compile("|".join(alts))


@functools.lru_cache(maxsize=64)
def _places_for(vendor: str | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(the target vendor's places, every other vendor's places not among them)."""
    places = _locations()
    own = places.get(vendor or "", ())
    other = tuple(sorted({p for vid, ps in places.items() if vid != vendor for p in ps if p not in own}))
    return own, other


_WORD = re.compile(r"[A-Za-z0-9]+")
_ALNUM = re.compile(r"[A-Za-z0-9]")


class _Gate:
    """Candidate positions for registry aliases, so the registry only reads
    short windows: Latin words whose first letters start some alias, and the
    first characters of the Chinese aliases. Matching itself stays the
    registry's, so the result equals ``registry.find(text)``."""

    def __init__(self, registry: Registry):
        heads: dict[str, int] = {}  # first letters of an alias -> longest alias with them
        cjk: dict[str, int] = {}
        for item in list(registry.vendors.values()) + list(registry.families.values()):
            for a in tuple(item.aliases) + tuple(item.aliases_zh) + tuple(item.ambiguous):
                a = a.strip()
                if not a:
                    continue
                if _ALNUM.match(a):
                    w = _WORD.match(a)
                    h = (w.group(0) if w else a[0]).lower()[:3]
                    heads[h] = max(heads.get(h, 0), len(a))
                else:
                    cjk[a[0]] = max(cjk.get(a[0], 0), len(a))
        self.heads = heads
        self.cjk_len = cjk
        self.cjk = re.compile("[" + "".join(re.escape(c) for c in sorted(cjk)) + "]") if cjk else None
        # one pass over the text: a trie-shaped regex of the heads at word
        # starts (heads shorter than 3 letters must be whole words)
        long_heads = sorted(h for h in heads if len(h) >= 3)
        short = "|".join(re.escape(h) for h in sorted((h for h in heads if len(h) < 3), key=len, reverse=True))
        alts = ([_trie(long_heads)] if long_heads else []) + ([f"(?:{short})(?![a-z0-9])"] if short else [])
        self.latin = re.compile(r"(?i)(?<![a-z0-9])(?:" + "|".join(alts) + ")") if alts else None

    def find(self, registry: Registry, text: str) -> list[Any]:
        heads = self.heads
        cands: list[tuple[int, int]] = []
        if self.latin is not None:
            cands = [(m.start(), heads[m.group(0).lower()]) for m in self.latin.finditer(text)]
        if self.cjk is not None:
            cands += [(m.start(), self.cjk_len[m.group(0)]) for m in self.cjk.finditer(text)]
        cands.sort()
        out: list[Any] = []
        last = 0
        n = len(text)
        for pos, span in cands:
            if pos < last:
                continue
            end = min(n, pos + span + 6)
            while end < n and text[end].isascii() and text[end].isalnum():
                end += 1
            hits = registry.find(text, pos, end)
            if hits and hits[0].start == pos:
                out.append(hits[0])
                last = hits[0].end
        return out


def _trie(words: list[str]) -> str:
    """Alternation of ``words`` shaped as a trie, so the regex engine tries
    one branch per character instead of every word in turn."""
    ends = any(w == "" for w in words)
    groups: dict[str, list[str]] = {}
    for w in words:
        if w:
            groups.setdefault(w[0], []).append(w[1:])
    alts = [re.escape(c) + (_trie(rest) if rest != [""] else "") for c, rest in sorted(groups.items())]
    body = "|".join(alts)
    if not alts:
        return ""
    return "(?:" + body + ")" + ("?" if ends else "")


@functools.lru_cache(maxsize=8)
def _gate(registry: Registry) -> _Gate:
    return _Gate(registry)


def _sentences(text: str) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    pos = 0
    for m in _SENT_SPLIT.finditer(text):
        end = m.end()
        while end - pos > _MAX_SENT:
            out.append((pos, pos + _MAX_SENT))
            pos += _MAX_SENT
        if end > pos:
            out.append((pos, end))
        pos = end
    while len(text) - pos > _MAX_SENT:
        out.append((pos, pos + _MAX_SENT))
        pos += _MAX_SENT
    if pos < len(text):
        out.append((pos, len(text)))
    return out


def _self_positions(s: str) -> list[int]:
    out = [m.start() for m in _SELF_EN.finditer(s) if not _SELF_AFTER_CUE.search(s, max(0, m.start() - 8), m.start())]
    return sorted(out + [m.start() for m in _SELF_ZH.finditer(s)])


def _clause_start(s: str, pos: int) -> int:
    # a clause is looked at no further back than 100 characters
    start = max(0, pos - 100)
    for m in _CLAUSE_SPLIT.finditer(s, start, pos):
        start = m.end()
    return start


# a persona label opening a sentence: "[GPT]:", "(🤖ChatGPT)", "DAN 🩸:", "ChatGPT："
_LABEL = re.compile(
    r"^\s{0,4}[\[(（【<*#>\-]{0,3}[^\w\s]{0,3}\s?[\w\u4e00-\u9fff .\-]{1,30}?\s?[^\w\s]{0,3}(?:[\])）】>]\s?[:：]?|\*{0,2}\s?[:：])"
)
# a second-person instruction ("you will generate … a standard ChatGPT response")
_YOU = re.compile(
    r"(?i:\byou(?:['’](?:ll|re|d)|\s+(?:will|would|should|must|can|may|are|have|need|generate|provide|answer|respond|act|"
    r"pretend|simulate|play|embody|assume))\b(?!\s+(?:talking|chatting|speaking)\s+(?:to|with)))"
)
# self markers that are objects of a comparison ("models like myself")
_SELF_AFTER_CUE = re.compile(r"(?i:\b(?:like|as|than|unlike)\s+$)")


def _third_party(s: str, pos: int, selfs: list[int]) -> bool:
    if _THIRD_NEAR_ZH.search(s, max(0, pos - 4), pos):
        return True
    lo = max(0, pos - 80)
    cue = -1
    for rx in (_THIRD_EN, _THIRD_ZH):
        for m in rx.finditer(s, lo, pos):
            cue = max(cue, m.start())
    if cue < 0:
        return False
    k = bisect.bisect_left(selfs, cue)
    return not (k < len(selfs) and selfs[k] < pos)


# "free of OpenAI's rules" still says whose rules bound the responder
_FREED_FROM = re.compile(r"(?i:\bfree(?:d)?\s+(?:from|of)\s+(?:the\s+)?$)|摆脱(?:了)?$")
_RULES_AFTER = re.compile(
    r"(?i:['’]s\s+(?:content\s+)?(?:rules|polic|restrictions|guidelines|constraints|limitations|filters|shackles|censorship))|的(?:规则|政策|限制|约束|审查)"
)


def _negated(s: str, pos: int) -> bool:
    c = _clause_start(s, pos)
    return bool(_NEG_EN.search(s, c, pos) or _NEG_ZH.search(s, c, pos))


def _freed_from(s: str, pos: int, end: int) -> bool:
    return bool(_FREED_FROM.search(s, max(0, pos - 24), pos) and _RULES_AFTER.match(s, end, end + 40))


class VoiceScanner:
    """Finds identity claims in the responder's own voice; see the module doc."""

    version = VOICE_VERSION

    def __init__(self, registry: Registry | None = None):
        self.registry = Registry.default() if registry is None else registry

    def _own(self, e: Any, target: Target) -> bool:
        if e.kind == "family":
            return e.id == target.family or e.id in target.related_families or e.vendor == target.vendor
        return e.id == target.vendor or e.id in target.related_vendors

    def scan(self, response: str, target: Target, prompt: str = "") -> VoiceVerdict:
        if not isinstance(response, str):
            raise TypeError(f"response must be a str, got {type(response).__name__}")
        text = response
        ents = _gate(self.registry).find(self.registry, text)
        own_anywhere = any(self._own(e, target) for e in ents)
        foreign = [e for e in ents if not self._own(e, target)]
        own_places, other_places = _places_for(target.vendor)
        place_rx = _place_rx(other_places) if own_places else None
        claims: list[VoiceClaim] = []
        # Markdown-labelled fields
        if "**" in text:
            for m in _FIELD.finditer(text):
                if not _FIELD_NAMES.search(m.group("field")):
                    continue
                v0 = m.start("value")
                for e in self.registry.find(text, v0, m.end("value")):
                    if not self._own(e, target) and not _negated(text[v0 : m.end()], e.start - v0):
                        claims.append(
                            VoiceClaim("field", e.id, True, m.start(), m.end(), text[m.start() : m.end()].strip())
                        )
                        break
        starts = [e.start for e in foreign]
        all_starts = [e.start for e in ents]
        place_starts = [m.start() for m in place_rx.finditer(text)] if place_rx is not None else []
        for s0, s1 in _sentences(text):
            s = text[s0:s1]
            lo = bisect.bisect_left(starts, s0)
            hi = bisect.bisect_left(starts, s1)
            in_s = [e for e in foreign[lo:hi] if e.end <= s1]
            k = bisect.bisect_left(place_starts, s0)
            has_place = k < len(place_starts) and place_starts[k] < s1
            if not in_s and not has_place:
                continue
            a, b = bisect.bisect_left(all_starts, s0), bisect.bisect_left(all_starts, s1)
            own_here = any(self._own(e, target) for e in ents[a:b])
            if own_here:
                continue
            selfs = _self_positions(s)
            lab = _LABEL.match(s)
            lab_end = lab.end() if lab else 0
            # a sentence naming more than a dozen foreign entities is a list or
            # a loop; its first mentions decide (and the work stays bounded)
            for e in in_s[:_MAX_MENTIONS]:
                p = e.start - s0
                if p < lab_end or _AS_PERSONA.search(s[max(0, p - 30) : p]):
                    continue
                q = e.end - s0
                if selfs and _freed_from(s, p, q) and not _YOU.search(s, max(0, p - 200), p):
                    claims.append(VoiceClaim("self", e.id, True, s0, s1, s.strip()))
                    break
                if _third_party(s, p, selfs) or _negated(s, p):
                    continue
                if _YOU.search(s, max(0, p - 200), p):
                    continue
                if selfs and (
                    _COPULA.search(s, max(0, p - 40), p)
                    or _REL_EN.search(s, max(0, p - 70), q + 40)
                    or _REL_ZH.search(s, max(0, p - 30), q + 20)
                ):
                    claims.append(VoiceClaim("self", e.id, True, s0, s1, s.strip()))
                    break
                if not own_anywhere and not selfs:
                    after = s[e.end - s0 : e.end - s0 + 60]
                    before = s[max(0, p - 60) : p]
                    if _IMPLIED_AFTER.match(after) or _IMPLIED_BEFORE.search(before):
                        claims.append(VoiceClaim("implied", e.id, True, s0, s1, s.strip()))
                        break
            if has_place and selfs and place_rx is not None:
                own_rx = _place_rx(own_places)
                if own_rx is not None and own_rx.search(s):
                    continue
                for m in place_rx.finditer(s):
                    if _third_party(s, m.start(), selfs) or _negated(s, m.start()):
                        continue
                    if _LOC_REL.search(s):
                        claims.append(VoiceClaim("origin", m.group(0), False, s0, s1, s.strip()))
                        break
        claims.sort(key=lambda c: c.start)
        return VoiceVerdict(bool(claims), any(c.strict for c in claims), tuple(claims))


def scan_answer(
    response: str, target: str | Target, prompt: str = "", *, registry: Registry | None = None
) -> VoiceVerdict:
    """Scan one answer against a target model (name or :class:`Target`)."""
    reg = Registry.default() if registry is None else registry
    t = reg.target(target) if isinstance(target, str) else target
    return VoiceScanner(reg).scan(response, t, prompt)

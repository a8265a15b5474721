"""Identity-claim extraction: the deterministic, judge-free :class:`ClaimExtractor`.

Definitions (also in docs/identity.md):

* A *claim* is a first-person statement about the responder's own name,
  developer, owner, base model, family or origin ("I am …", "I was trained
  by …", "my developer is …", "我是…", "由…开发", "我来自…") that is not
  negated and not spoken by another persona (quotes, ``Name:`` dialogue
  lines, "As X in this story …").
* A claim is a *strict contradiction* when it names a registered family or
  vendor other than the target's own (or its listed partners / base models).
* It is a *vague contradiction* when it names no such entity but still
  contradicts the target: a country of origin other than the target vendor's
  ("a US company" for a Chinese model), being a human, denying the target's
  own name or vendor ("I am not Qwen" from Qwen), or an explicit name claim
  ("my name is Aria") that is neither the target's nor a persona named in the
  prompt.
* A response *contradicts* when any of its claims contradicts (strict or
  vague); it is *strict* when any claim is a strict contradiction; it is
  *consistent* when it has claims and none contradicts; else *no_claim*.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from .patterns import (
    CJK,
    COUNTRY_RE,
    COUNTRY_WORDS,
    COUNTRY_ZH,
    COUNTRY_ZH_RE,
    CREATIVE_CUES,
    DEVELOPER_CONTEXT,
    EN_CUT,
    EN_SUBJ_BEFORE,
    EN_TRIGGERS,
    GENERIC_NAMES,
    HUMAN_RE,
    NAME_CLAIM_EN,
    NEG_THEN_POS_EN,
    NEG_THEN_POS_ZH,
    NOT_IDENTITY_EN,
    NOT_IDENTITY_ZH,
    PERSONA_MARKER,
    REPORTED_EN,
    REPORTED_ZH,
    ROLEPLAY_CUES,
    ZH_CUT,
    ZH_TRIGGERS,
)
from .registry import Entity, Registry, Target
from .text_regions import ignored_regions, membership, sentence_end

EXTRACTOR_VERSION = "ice-extract-1"
VERDICTS = ("consistent", "contradicts", "no_claim")


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Claim:
    """One first-person identity statement found in a response."""

    start: int
    end: int
    text: str
    trigger: str
    negated: bool
    entities: tuple[Entity, ...]
    vague: tuple[str, ...]  # e.g. "country:US", "human", "name:Aria", "denies-self"
    stance: str  # "consistent" | "contradicts" | "neutral"
    strict: bool


@dataclass(frozen=True)
class Verdict:
    verdict: str
    strict: bool
    span: Span | None
    claims: tuple[Claim, ...]
    ignored: tuple[Span, ...] = ()  # persona-attributed regions that were skipped

    @property
    def claimed(self) -> tuple[str, ...]:
        out: list[str] = []
        for c in self.claims:
            if c.stance != "contradicts":
                continue
            for e in c.entities:
                if e.id not in out:
                    out.append(e.id)
        return tuple(out)

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "strict": self.strict,
            "evidence": None if self.span is None else asdict(self.span),
            "claimed": list(self.claimed),
            "claims": [
                {
                    "start": c.start,
                    "end": c.end,
                    "text": c.text,
                    "trigger": c.trigger,
                    "negated": c.negated,
                    "stance": c.stance,
                    "strict": c.strict,
                    "entities": [
                        {
                            "kind": e.kind,
                            "id": e.id,
                            "vendor": e.vendor,
                            "alias": e.alias,
                            "start": e.start,
                            "end": e.end,
                        }
                        for e in c.entities
                    ],
                    "vague": list(c.vague),
                }
                for c in self.claims
            ],
        }


class ClaimExtractor:
    """Deterministic, judge-free identity-claim extractor (English + Chinese).

    ``ClaimExtractor(registry).classify(response, target, prompt=...)``
    returns a :class:`Verdict`. The prompt is optional; it lets the extractor
    tell a requested role-play from a spontaneous one and accept persona
    names the user asked for.
    """

    version = EXTRACTOR_VERSION

    def __init__(self, registry: Registry | None = None):
        self.registry = Registry.default() if registry is None else registry

    # -- extraction ---------------------------------------------------------
    @staticmethod
    def roleplay_context(response: str, prompt: str) -> bool:
        """Whether the user asked for, or the response plays, a role."""
        return bool(ROLEPLAY_CUES.search(prompt)) or bool(PERSONA_MARKER.search(response))

    def extract(
        self, response: str, prompt: str = "", *, roleplay: bool | None = None
    ) -> tuple[list[tuple[str, int, int, int, bool]], list[tuple[int, int]]]:
        """Raw claim candidates: ``(trigger, claim_start, obj_start, obj_end, negated)``."""
        if roleplay is None:
            roleplay = self.roleplay_context(response, prompt)
        ignored = ignored_regions(response, prompt, roleplay, self.registry)
        inside = membership(ignored)
        cands = self._en_candidates(response, inside) + self._zh_candidates(response, inside)
        return cands, ignored

    def _en_candidates(self, text: str, inside: Callable[[int], bool]) -> list[tuple[str, int, int, int, bool]]:
        cands: list[tuple[str, int, int, int, bool]] = []
        for name, rx in EN_TRIGGERS:
            for m in rx.finditer(text):
                if inside(m.start()):
                    continue
                neg = bool(m.groupdict().get("neg"))
                if name == "i-am" and not neg and NOT_IDENTITY_EN.match(text, m.end()):
                    continue
                if name in ("i-am", "my-name", "i-come-from") and REPORTED_EN.search(
                    text[max(0, m.start() - 60) : m.start()]
                ):
                    continue
                cands.append((name, m.start(), m.end(), self._object_end(text, m.end(), "en"), neg))
        for m in EN_SUBJ_BEFORE.finditer(text):
            if inside(m.start()):
                continue
            # the object is the subject before the verb; the claim runs to "me"
            cands.append(("made-me", m.start(), m.start(), m.end(), False))
        return cands

    def _zh_candidates(self, text: str, inside: Callable[[int], bool]) -> list[tuple[str, int, int, int, bool]]:
        cands: list[tuple[str, int, int, int, bool]] = []
        for name, rx in ZH_TRIGGERS:
            for m in rx.finditer(text):
                if inside(m.start()):
                    continue
                gd = m.groupdict()
                neg = bool(gd.get("neg") or gd.get("neg2"))
                if name == "zh-wo-shi":
                    if m.end() == m.start() + 1 or (not neg and m.group(0) == "我"):
                        # bare 我 with no copula: only "我由…" style (zh-from) counts
                        continue
                    if not neg and NOT_IDENTITY_ZH.match(text, m.end()):
                        continue
                if name in ("zh-wo-shi", "zh-name", "zh-from") and REPORTED_ZH.search(
                    text[max(0, m.start() - 12) : m.start()]
                ):
                    continue
                cands.append((name, m.start(), m.end(), self._object_end(text, m.end(), "zh"), neg))
        return cands

    @staticmethod
    def _object_end(text: str, start: int, lang: str) -> int:
        end = min(sentence_end(text, start), start + 160)
        cut_rx = EN_CUT if lang == "en" else ZH_CUT
        # skip the cut marker if it sits right at the start (e.g. "I am not")
        m = cut_rx.search(text, start, end)
        if m is not None and m.start() == start and m.end() > start:
            m = cut_rx.search(text, m.end(), end)
        if m is not None and m.start() > start:
            end = m.start()
        if lang == "en":
            # the Chinese cut markers can also stop an English object that is
            # followed by Chinese text
            m2 = ZH_CUT.search(text, start, end)
            if m2 is not None and m2.start() > start:
                end = m2.start()
        return end

    def _negated_positive(self, text: str, obj_start: int, lang: str) -> tuple[int, int] | None:
        """For "I am not X but Y" / "我不是X而是Y": the span of Y."""
        end = min(sentence_end(text, obj_start), obj_start + 160)
        rx = NEG_THEN_POS_EN if lang == "en" else NEG_THEN_POS_ZH
        m = rx.search(text, obj_start, end)
        if m is None:
            return None
        s = m.end()
        return s, self._object_end(text, s, lang)

    def classify(self, response: str, target: Target, prompt: str = "", *, stem: str | None = None) -> Verdict:
        if not isinstance(response, str):
            raise TypeError(f"response must be a str, got {type(response).__name__}")
        if not isinstance(target, Target):
            raise TypeError("target must be a Target; build one with Registry.target(name)")
        prompt = prompt or ""
        text, offset = self._with_stem(response, stem)
        roleplay = self.roleplay_context(text, prompt)
        creative = roleplay or bool(CREATIVE_CUES.search(prompt))
        cands, ignored = self.extract(text, prompt, roleplay=roleplay)
        claims = self._merge_duplicates(self._claims(text, cands, target, prompt, creative))
        # shift offsets back into the response (the stem is not part of it)
        if offset:
            claims = [self._shift(c, offset, response) for c in claims]
        ignored_spans = tuple(
            Span(max(0, s - offset), max(0, e - offset), response[max(0, s - offset) : max(0, e - offset)])
            for s, e in ignored
            if e - offset > 0
        )
        return self._verdict(claims, ignored_spans)

    @staticmethod
    def _with_stem(response: str, stem: str | None) -> tuple[str, int]:
        """The text to read (the completion stem before the response, when the
        model continued it) and the offset of the response in it."""
        if stem:
            joiner = "" if CJK.search(stem[-1:]) or response[:1].isspace() else " "
            # only prepend when the model continued the stem rather than restating it
            if not response.lstrip().lower().startswith(stem.strip().lower()[:8]):
                return stem + joiner + response, len(stem) + len(joiner)
        return response, 0

    def _claims(
        self, text: str, cands: list[tuple[str, int, int, int, bool]], target: Target, prompt: str, creative: bool
    ) -> list[Claim]:
        """Judge each candidate's object (and the Y of "not X but Y")."""
        prompt_entities = self.registry.find(prompt)
        claims: list[Claim] = []
        seen: set[tuple[int, int]] = set()
        for trig, c_start, o_start, o_end, neg in sorted(cands, key=lambda c: (c[1], c[2])):
            lang = "zh" if trig.startswith("zh") else "en"
            spans: list[tuple[int, int, bool]] = [(o_start, o_end, neg)]
            if neg:
                pos = self._negated_positive(text, o_start, lang)
                if pos is not None and pos[0] < pos[1]:
                    spans.append((pos[0], pos[1], False))
            for s, e, negated in spans:
                if (s, e) in seen and not negated:
                    continue
                claim = self._judge_object(
                    text, trig, c_start if s == o_start else s, s, e, negated, target, prompt, prompt_entities, creative
                )
                if claim is None:
                    continue
                seen.add((s, e))
                claims.append(claim)
        return claims

    @staticmethod
    def _merge_duplicates(claims: list[Claim]) -> list[Claim]:
        """An object reached by two triggers counts once."""
        uniq: dict[tuple[int, int], Claim] = {}
        for c in claims:
            key = (c.end, c.stance == "neutral")
            if key not in uniq or c.start < uniq[key].start:
                uniq[key] = c
        return sorted(uniq.values(), key=lambda c: (c.start, c.end))

    @staticmethod
    def _verdict(claims: list[Claim], ignored_spans: tuple[Span, ...]) -> Verdict:
        contra = [c for c in claims if c.stance == "contradicts"]
        cons = [c for c in claims if c.stance == "consistent"]
        if contra:
            strict = any(c.strict for c in contra)
            first = next((c for c in contra if c.strict), contra[0]) if strict else contra[0]
            return Verdict(
                "contradicts", strict, Span(first.start, first.end, first.text), tuple(claims), ignored_spans
            )
        if cons:
            c = cons[0]
            return Verdict("consistent", False, Span(c.start, c.end, c.text), tuple(claims), ignored_spans)
        return Verdict("no_claim", False, None, tuple(claims), ignored_spans)

    @staticmethod
    def _shift(c: Claim, offset: int, response: str) -> Claim:
        s, e = max(0, c.start - offset), max(0, c.end - offset)
        ents = tuple(
            Entity(x.kind, x.id, x.vendor, x.alias, max(0, x.start - offset), max(0, x.end - offset))
            for x in c.entities
        )
        return Claim(s, e, response[s:e], c.trigger, c.negated, ents, c.vague, c.stance, c.strict)

    def _judge_object(
        self,
        text: str,
        trig: str,
        c_start: int,
        o_start: int,
        o_end: int,
        negated: bool,
        target: Target,
        prompt: str,
        prompt_entities: list[Entity],
        roleplay: bool = False,
    ) -> Claim | None:
        obj = text[o_start:o_end]
        ents = self.registry.find(text, o_start, o_end)
        vague: list[str] = []
        # Elliptical answers to a named yes/no question: "Yes, I am." to "Are you X?"
        if not ents and trig in ("i-am", "zh-wo-shi") and not negated and obj.strip(" ,.!?。！") == "":
            ents = self._elliptical_entities(text, c_start, o_end, prompt_entities)
        if not ents and trig != "talking-to":
            vague = self._vague_marks(text, trig, o_start, o_end, negated, target, prompt, roleplay)
        if not ents and not vague:
            return None
        end = max([o_end] + [e.end for e in ents])
        claim_text = text[c_start:end].rstrip(" ,，")
        end = c_start + len(claim_text)
        if ents or negated:
            stance, strict, vague = self._entity_stance(ents, vague, negated, target)
        else:
            stance, strict = self._vague_stance(vague, target, roleplay)
        return Claim(c_start, end, claim_text, trig, negated, tuple(ents), tuple(vague), stance, strict)

    @staticmethod
    def _elliptical_entities(text: str, c_start: int, o_end: int, prompt_entities: list[Entity]) -> list[Entity]:
        """ "Yes, I am." after a prompt naming exactly one model or vendor: that one."""
        before = text[max(0, c_start - 12) : c_start].lower()
        if re.search(r"yes|yeah|correct|是的|对", before):
            named = {(e.kind, e.id): e for e in prompt_entities}
            if len(named) == 1:
                e0 = next(iter(named.values()))
                return [Entity(e0.kind, e0.id, e0.vendor, e0.alias, c_start, o_end)]
        return []

    @staticmethod
    def _vague_marks(
        text: str, trig: str, o_start: int, o_end: int, negated: bool, target: Target, prompt: str, roleplay: bool
    ) -> list[str]:
        """Country of origin, humanity, unregistered names in an object that names no entity."""
        obj = text[o_start:o_end]
        vague: list[str] = []
        country_ok = trig in ("i-come-from", "zh-from", "my-maker", "zh-maker", "made-me") or bool(
            DEVELOPER_CONTEXT.search(text, o_start, o_end)
        )
        if country_ok:
            for m in COUNTRY_RE.finditer(text, o_start, o_end):
                word = m.group(0).lower()
                # "US" only in capitals: "us" is a pronoun
                if word == "us" and m.group(0) != "US":
                    continue
                vague.append("country:" + COUNTRY_WORDS.get(word, "US"))
            for m in COUNTRY_ZH_RE.finditer(text, o_start, o_end):
                vague.append("country:" + COUNTRY_ZH[m.group(0)])
        if trig in ("i-am", "zh-wo-shi") and HUMAN_RE.match(obj.strip()) and not negated:
            vague.append("human")
        if trig in ("my-name", "zh-name") and not negated and not roleplay:
            nm = NAME_CLAIM_EN.match(obj)
            if nm:
                nm_text = nm.group("name").strip()
                if (
                    nm_text.lower() not in GENERIC_NAMES
                    and nm_text.lower() not in prompt.lower()
                    and not any(nm_text.lower() == s.lower() for s in target.self_names)
                    and nm_text.lower() != target.name.lower()
                ):
                    vague.append(f"name:{nm_text}")
        return vague

    def _entity_stance(
        self, ents: list[Entity], vague: list[str], negated: bool, target: Target
    ) -> tuple[str, bool, list[str]]:
        """Stance, strictness and vague marks of a claim that names entities (or is negated)."""
        own = other = False
        for e in ents:
            if self._is_own(e, target):
                own = True
            elif self._is_related(e, target):
                continue
            else:
                other = True
        if negated:
            # a negated claim of another identity says nothing; denying the
            # target's own identity is a (vague) contradiction
            if own and not other:
                return "contradicts", False, ["denies-self"]
            return "neutral", False, vague
        if other:
            return "contradicts", True, vague
        if own:
            return "consistent", False, vague
        return "neutral", False, vague  # related only

    @staticmethod
    def _vague_stance(vague: list[str], target: Target, roleplay: bool) -> tuple[str, bool]:
        """Stance of a claim with vague marks only (never strict)."""
        bad = [v for v in vague if v == "human" or v.startswith("name:")]
        countries = {v.split(":", 1)[1] for v in vague if v.startswith("country:")}
        if target.country and countries and target.country not in countries:
            bad.append("country")
        if bad and roleplay:
            # a narrator or persona in requested fiction: not the model's own vague claim
            return "neutral", False
        if bad:
            return "contradicts", False
        if target.country and target.country in countries:
            return "consistent", False
        return "neutral", False

    @staticmethod
    def _is_own(e: Entity, t: Target) -> bool:
        if e.kind == "family":
            return e.id == t.family or (t.family is None and e.vendor == t.vendor)
        return e.id == t.vendor

    @staticmethod
    def _is_related(e: Entity, t: Target) -> bool:
        if e.kind == "family":
            return e.id in t.related_families
        return e.id in t.related_vendors


def classify(
    response: str,
    target: str | Target,
    prompt: str = "",
    *,
    stem: str | None = None,
    registry: Registry | None = None,
) -> Verdict:
    """Classify one response against a target model (name or :class:`Target`)."""
    reg = Registry.default() if registry is None else registry
    t = reg.target(target) if isinstance(target, str) else target
    return ClaimExtractor(reg).classify(response, t, prompt, stem=stem)

"""Identity probes: the seeded, versioned probe set in the gatherer's prompt-file format.

Questions × languages × framing variants from the packaged
``data/identity_probes.json``; :meth:`Probe.record` writes one prompt-file line.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .registry import Registry, data_text

LANGUAGES = ("en", "zh")
VARIANTS = ("direct", "roleplay", "ignore", "translation", "completion", "system")


@dataclass(frozen=True)
class Probe:
    id: str
    prompt: str
    category: str
    language: str
    variant: str
    hard: bool
    question_id: str
    template: int
    stem: str | None = None
    named: str | None = None

    def record(self, *, messages: bool = False, system: str | None = None) -> dict[str, Any]:
        """The gatherer's prompt-file line (``prompt`` or ``messages``) with metadata."""
        rec: dict[str, Any] = {"id": self.id}
        if messages or system is not None:
            msgs = ([{"role": "system", "content": system}] if system else []) + [
                {"role": "user", "content": self.prompt}
            ]
            rec["messages"] = msgs
        else:
            rec["prompt"] = self.prompt
        rec.update(
            category=self.category,
            language=self.language,
            variant=self.variant,
            hard=self.hard,
            question_id=self.question_id,
            template=self.template,
            probe_version=probe_bank()["version"],
        )
        if self.stem:
            rec["stem"] = self.stem
        if self.named:
            rec["named"] = self.named
        return rec


_PROBES: dict[str, Any] | None = None


def probe_bank() -> dict[str, Any]:
    """The packaged probe bank (questions, named questions, variant templates)."""
    global _PROBES
    if _PROBES is None:
        _PROBES = json.loads(data_text("identity_probes.json"))
    return _PROBES


def build_probes(
    languages: Sequence[str] = LANGUAGES,
    variants: Sequence[str] = VARIANTS,
    *,
    seed: int = 0,
    named: bool = True,
    registry: Registry | None = None,
) -> list[Probe]:
    """Every question × language × variant, with seeded template choices.

    The same ``seed`` (and probe-bank version) gives the same prompts. Named
    questions (``named=True``) fill ``{model}`` / ``{vendor}`` from the
    registry and are marked ``hard=False``; all others name no model or
    vendor and are ``hard=True`` (checked against the registry).
    """
    bank = probe_bank()
    reg = Registry.default() if registry is None else registry
    _check_choices(languages, variants, seed)
    questions = list(bank["questions"])
    if named:
        questions += _named_questions(bank, reg, seed)
    return [_probe(bank, reg, q, lang, var, seed) for q in questions for lang in languages for var in variants]


def _check_choices(languages: Sequence[str], variants: Sequence[str], seed: int) -> None:
    for lang in languages:
        if lang not in LANGUAGES:
            raise ValueError(f"unknown language {lang!r}; choose from {', '.join(LANGUAGES)}")
    for var in variants:
        if var not in VARIANTS:
            raise ValueError(f"unknown variant {var!r}; choose from {', '.join(VARIANTS)}")
    if not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")


def _named_questions(bank: Mapping[str, Any], reg: Registry, seed: int) -> list[dict[str, Any]]:
    """The named questions with ``{model}`` / ``{vendor}`` filled from the registry (seeded)."""
    out: list[dict[str, Any]] = []
    rng_names = random.Random(f"names:{seed}")
    fams = sorted(reg.families)
    vends = sorted(reg.vendors)
    for nq in bank["named_questions"]:
        if nq["slot"] == "model":
            f = reg.families[rng_names.choice(fams)]
            en_name = f.aliases[0] if f.aliases else f.ambiguous[0]
            zh_name = en_name
        else:
            v = reg.vendors[rng_names.choice(vends)]
            en_name = v.name
            zh_name = v.aliases_zh[0] if v.aliases_zh and not v.aliases_zh[0].startswith(("美国",)) else v.name
        out.append(
            {
                "id": nq["id"],
                "category": nq["category"],
                "en": nq["en"].format(model=en_name, vendor=en_name),
                "zh": nq["zh"].format(model=zh_name, vendor=zh_name),
                "named": en_name,
            }
        )
    return out


def _probe(bank: Mapping[str, Any], reg: Registry, q: Mapping[str, Any], lang: str, var: str, seed: int) -> Probe:
    """One question in one language and framing variant."""
    templates = bank["variants"][var][lang]
    # one RNG per (seed, question, language, variant): adding a
    # question or variant does not reshuffle the others
    rng = random.Random(f"{seed}:{q['id']}:{lang}:{var}")
    t = rng.randrange(len(templates))
    stem = bank["completion_stems"][q["category"]][lang] if var == "completion" else None
    prompt = templates[t].format(q=q[lang], stem=stem or "")
    named_name = q.get("named")
    hard = named_name is None and not reg.mentions_any(prompt)
    return Probe(
        id=f"ice-{q['id']}-{lang}-{var}",
        prompt=prompt,
        category=q["category"],
        language=lang,
        variant=var,
        hard=hard,
        question_id=q["id"],
        template=t,
        stem=stem,
        named=named_name,
    )

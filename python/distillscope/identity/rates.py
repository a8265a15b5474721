"""Identity rates: loose / strict / hard contradiction rates with Wilson intervals.

* loose rate = responses that contradict / responses; strict rate =
  responses with a strict contradiction / responses; hard rate = strict rate
  over prompts that name no registered model or vendor.

Each rate comes overall and per category and language.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..stats import wilson_interval
from .claims import VERDICTS, Verdict
from .patterns import CJK


def detect_language(text: str) -> str:
    """'zh' when CJK characters dominate the letters of ``text``, else 'en'."""
    cjk = len(CJK.findall(text))
    latin = len(re.findall(r"[A-Za-z]+", text))
    return "zh" if cjk > 0 and cjk >= latin else "en"


@dataclass(frozen=True)
class Rate:
    count: int
    n: int
    rate: float
    ci_low: float
    ci_high: float

    @classmethod
    def of(cls, count: int, n: int, confidence: float) -> Rate:
        lo, hi = wilson_interval(count, n, confidence)
        return cls(count, n, (count / n) if n else float("nan"), lo, hi)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rate": None if self.n == 0 else self.rate,
            "count": self.count,
            "n": self.n,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
        }


@dataclass(frozen=True)
class IdentityRates:
    loose: Rate
    strict: Rate
    hard: Rate
    by_category: dict[str, dict[str, Rate]] = field(default_factory=dict)
    by_language: dict[str, dict[str, Rate]] = field(default_factory=dict)
    verdict_counts: dict[str, int] = field(default_factory=dict)
    confidence: float = 0.95

    def to_dict(self) -> dict[str, Any]:
        def grp(g: dict[str, dict[str, Rate]]) -> dict[str, Any]:
            return {k: {m: r.to_dict() for m, r in v.items()} for k, v in sorted(g.items())}

        return {
            "loose": self.loose.to_dict(),
            "strict": self.strict.to_dict(),
            "hard": self.hard.to_dict(),
            "by_category": grp(self.by_category),
            "by_language": grp(self.by_language),
            "verdict_counts": dict(self.verdict_counts),
            "confidence": self.confidence,
        }


def identity_rates(
    verdicts: Sequence[Verdict],
    *,
    hard: Sequence[bool],
    categories: Sequence[str | None] | None = None,
    languages: Sequence[str | None] | None = None,
    confidence: float = 0.95,
) -> IdentityRates:
    """Loose / strict / hard rates with Wilson intervals, overall and per group.

    ``hard[i]`` says whether prompt ``i`` names no model or vendor. Each group
    (category, language) gets all three rates over its own responses.
    """
    n = len(verdicts)
    if len(hard) != n:
        raise ValueError(f"hard has {len(hard)} entries for {n} verdicts; give one flag per response")
    cats: list[str | None] = list(categories) if categories is not None else [None] * n
    langs: list[str | None] = list(languages) if languages is not None else [None] * n
    if len(cats) != n or len(langs) != n:
        raise ValueError("categories and languages must have one entry per verdict")

    def three(idx: list[int]) -> dict[str, Rate]:
        loose = sum(verdicts[i].verdict == "contradicts" for i in idx)
        strict = sum(verdicts[i].verdict == "contradicts" and verdicts[i].strict for i in idx)
        hidx = [i for i in idx if hard[i]]
        hstrict = sum(verdicts[i].verdict == "contradicts" and verdicts[i].strict for i in hidx)
        return {
            "loose": Rate.of(loose, len(idx), confidence),
            "strict": Rate.of(strict, len(idx), confidence),
            "hard": Rate.of(hstrict, len(hidx), confidence),
        }

    allr = three(list(range(n)))

    def groups(keys: list[str | None]) -> dict[str, dict[str, Rate]]:
        idx: dict[str, list[int]] = {}
        for i, k in enumerate(keys):
            if k is not None:
                idx.setdefault(str(k), []).append(i)
        return {k: three(v) for k, v in idx.items()}

    counts = {v: 0 for v in VERDICTS}
    for v in verdicts:
        counts[v.verdict] += 1
    return IdentityRates(allr["loose"], allr["strict"], allr["hard"], groups(cats), groups(langs), counts, confidence)

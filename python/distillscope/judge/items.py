"""What is judged: the judge configuration, the seeded answer order, the pair list and the judge items."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .prompt import JUDGE_PROMPT_VERSION, judge_messages

if TYPE_CHECKING:  # pragma: no cover
    from ..gather.prompts import RequestSpec
    from ..store.table import ResponseTable

# fewest answer tokens a judge may be given: its JSON verdict needs room
MIN_JUDGE_TOKENS = 16


@dataclass(frozen=True)
class JudgeConfig:
    """How pairs are judged.

    seed: seeds which answer is shown first (and the prompt subset).
    both_orders: judge every item in both orders and average the parsed
        overall (and aspect) scores; doubles the requests.
    null: also judge each pair on shuffled prompts (A's answer to p vs B's
        answer to π(p), π = ``calibrate.derangement(n_prompts, null_seed)``)
        to give calibration a chance level.
    max_prompts: judge at most this many prompts per pair (a seeded subset,
        shared across pairs as far as their prompts overlap).
    sample: which sample of each model's answers is judged.
    max_answer_chars: longer answers (and prompts) are cut, identically for
        both sides, with a note saying how much was cut.
    temperature, max_tokens: the judge's sampling parameters.
    """

    seed: int = 0
    both_orders: bool = False
    null: bool = False
    null_seed: int = 0
    max_prompts: int | None = None
    sample: int = 0
    max_answer_chars: int = 6000
    temperature: float = 0.0
    max_tokens: int = 300

    def __post_init__(self) -> None:
        for k in ("seed", "null_seed", "sample", "max_answer_chars", "max_tokens"):
            v = getattr(self, k)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 0:
                raise ValueError(f"{k} must be an integer >= 0, got {v!r}")
        if self.max_prompts is not None and (not isinstance(self.max_prompts, int) or self.max_prompts < 1):
            raise ValueError(f"max_prompts must be an integer >= 1 or None, got {self.max_prompts!r}")
        if not (isinstance(self.temperature, (int, float)) and 0 <= self.temperature <= 2):
            raise ValueError(f"temperature must be in [0, 2], got {self.temperature!r}")
        if self.max_tokens < MIN_JUDGE_TOKENS:
            raise ValueError(
                f"max_tokens must be >= {MIN_JUDGE_TOKENS} (the JSON answer needs room), got {self.max_tokens}"
            )

    def signature(self, judge_model: str) -> str:
        return (
            f"judge:{JUDGE_PROMPT_VERSION}|model:{judge_model}|orders:{2 if self.both_orders else 1}|"
            f"seed={self.seed}|T={self.temperature:g}|max_tokens={self.max_tokens}|"
            f"cut={self.max_answer_chars}|sample={self.sample}"
        )


def stable_hash(*parts: Any) -> str:
    blob = json.dumps([str(p) for p in parts], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def show_b_first(seed: int, model_a: str, model_b: str, prompt_id: str) -> bool:
    """The seeded position draw of one item: True if B's answer is shown first.

    A hash of ``(seed, a, b, prompt_id)`` rather than a stream of random
    numbers, so an item's order is the same whatever else is judged."""
    return int(stable_hash("order", seed, model_a, model_b, prompt_id)[:8], 16) & 1 == 1


def parse_pairs(spec: str | Sequence[Any] | None, models: Sequence[str]) -> list[tuple[str, str]]:
    """``"A:B,C:D"`` or [(A, B), ...] → pairs; None → every unordered pair of ``models``."""
    models = [str(m) for m in models]
    if spec is None or spec == "":
        return [(models[i], models[j]) for i in range(len(models)) for j in range(i + 1, len(models))]
    items: list[Any] = [s.strip() for s in spec.split(",") if s.strip()] if isinstance(spec, str) else list(spec)
    out: list[tuple[str, str]] = []
    for it in items:
        if isinstance(it, str):
            a, sep, b = it.partition(":")
            if not sep:
                raise ValueError(f"pair {it!r} must look like MODEL_A:MODEL_B")
        else:
            a, b = it
        a, b = str(a).strip(), str(b).strip()
        for m in (a, b):
            if m not in models:
                raise ValueError(f"pair {a}:{b}: unknown model {m!r}; available: {models}")
        if a == b:
            raise ValueError(f"pair {a}:{b} compares a model with itself; pick two different models")
        if (a, b) in out or (b, a) in out:
            raise ValueError(f"pair {a}:{b} is listed twice (the judge is symmetric: A:B covers B:A)")
        out.append((a, b))
    if not out:
        raise ValueError("no pairs given; use --pairs A:B[,C:D...]")
    return out


@dataclass(frozen=True)
class JudgeItem:
    """One judged comparison: ``kind`` ``"raw"`` (same prompt) or ``"null"``
    (A's answer to ``prompt_id``, B's to ``prompt_b``)."""

    model_a: str
    model_b: str
    prompt_id: str
    kind: str
    prompt_b: str
    b_first: bool
    prompt: str | None
    answer_a: str
    answer_b: str

    def custom_id(self, order: int) -> str:
        h = stable_hash(JUDGE_PROMPT_VERSION, self.kind, self.model_a, self.model_b, self.prompt_id, self.prompt_b)
        return f"rsej-{h[:24]}-{order}"

    def shown(self, order: int) -> tuple[str, str]:
        """Models shown as answer 1 and 2 in ``order`` (0 = the seeded order, 1 = reversed)."""
        b_first = self.b_first != (order == 1)
        return (self.model_b, self.model_a) if b_first else (self.model_a, self.model_b)

    def request(self, order: int, cfg: JudgeConfig) -> RequestSpec:
        from ..gather.prompts import RequestSpec

        first, _ = self.shown(order)
        texts = (self.answer_b, self.answer_a) if first == self.model_b else (self.answer_a, self.answer_b)
        msgs = judge_messages(self.prompt, texts[0], texts[1], max_answer_chars=cfg.max_answer_chars)
        return RequestSpec(
            self.custom_id(order),
            tuple(msgs),
            params={"temperature": float(cfg.temperature), "max_tokens": int(cfg.max_tokens)},
            meta={
                "task": "rse-judge",
                "version": JUDGE_PROMPT_VERSION,
                "kind": self.kind,
                "model_a": self.model_a,
                "model_b": self.model_b,
                "prompt_id": self.prompt_id,
                "prompt_b": self.prompt_b,
                "first": first,
                "order": order,
            },
        )


def _answers(table: ResponseTable, sample: int) -> tuple[dict[tuple[str, str], str], dict[str, str]]:
    answers: dict[tuple[str, str], str] = {}
    prompts: dict[str, str] = {}
    models, pids = table.model, table.prompt_id
    for i in np.nonzero(table.ok & (table.sample == sample))[0].tolist():
        answers[(str(models[i]), str(pids[i]))] = str(table.response[i])
    for i in range(len(table)):
        p = table.prompt[i]
        if isinstance(p, str) and p.strip():
            prompts.setdefault(str(pids[i]), p)
    return answers, prompts


def build_items(
    table: ResponseTable, pairs: Sequence[tuple[str, str]], config: JudgeConfig | None = None
) -> tuple[list[JudgeItem], tuple[str, ...]]:
    """The items to judge and the shared prompt index (sorted ids) they cover."""
    from ..stats import derangement

    cfg = config or JudgeConfig()
    answers, prompt_text = _answers(table, cfg.sample)
    known = {str(m) for m in table.models}
    for a, b in pairs:
        for m in (a, b):
            if m not in known:
                raise ValueError(f"model {m!r} has no responses; available: {sorted(known)}")
    # one seeded priority per prompt: max_prompts takes the same prompts for every pair where it can
    prio = {p: stable_hash("subset", cfg.seed, p) for p in (str(x) for x in table.prompt_ids)}
    chosen: dict[tuple[str, str], list[str]] = {}
    for a, b in pairs:
        shared = [p for p in prio if (a, p) in answers and (b, p) in answers]
        if cfg.max_prompts is not None and len(shared) > cfg.max_prompts:
            shared = sorted(shared, key=lambda p: prio[p])[: cfg.max_prompts]
        chosen[(a, b)] = sorted(shared)
    index = tuple(sorted({p for ps in chosen.values() for p in ps}))
    if not index:
        raise ValueError(f"the pairs {list(pairs)} share no prompt with a successful answer (sample {cfg.sample})")
    items: list[JudgeItem] = []
    for (a, b), ps in chosen.items():
        for p in ps:
            items.append(
                JudgeItem(
                    a,
                    b,
                    p,
                    "raw",
                    p,
                    show_b_first(cfg.seed, a, b, p),
                    prompt_text.get(p),
                    answers[(a, p)],
                    answers[(b, p)],
                )
            )
    if cfg.null:
        if len(index) < 2:
            raise ValueError("null=True needs at least 2 judged prompts")
        perm = derangement(len(index), cfg.null_seed)
        for a, b in pairs:
            for i, p in enumerate(index):
                q = index[int(perm[i])]
                if (a, p) in answers and (b, q) in answers:
                    items.append(
                        JudgeItem(
                            a,
                            b,
                            p,
                            "null",
                            q,
                            show_b_first(cfg.seed, a, b, f"null:{p}"),
                            prompt_text.get(p),
                            answers[(a, p)],
                            answers[(b, q)],
                        )
                    )
    return items, index


__all__ = ["MIN_JUDGE_TOKENS", "JudgeConfig", "JudgeItem", "build_items", "parse_pairs", "show_b_first", "stable_hash"]

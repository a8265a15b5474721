"""LLM-judge mode of response similarity (RSE), run through the gatherer.

A judge model reads two models' answers to the same prompt and rates how
much they resemble each other on three aspects — *style*, *logical
structure* and *content detail* — plus an *overall* resemblance, each on a
1–5 scale (the judge variant of the published RSE method; the prompt here
is this project's own, see docs/judge.md).

Pipeline
--------
* :func:`build_items` picks, for each requested model pair, the prompts both
  answered (sample ``sample``, successful records), optionally a seeded
  subset of them, and decides per item — from a seeded hash of
  ``(seed, model_a, model_b, prompt_id)``, so the choice does not depend on
  which other items are judged — which answer is shown first. With
  ``both_orders`` each item is judged in both orders and the parsed scores
  are averaged. With ``null`` every pair is also judged on shuffled prompts
  (A's answer to prompt p against B's answer to prompt π(p), π the
  calibration derangement), which gives the calibration its chance level.
* The requests go through :func:`distillscope.gather.run_requests`: rate
  limited, retried with backoff (``Retry-After`` honoured), appended to a
  JSONL store as they finish. Re-running sends nothing already recorded;
  a request whose text changed (e.g. the answers were re-gathered) is
  asked again and the newest record wins.
* :func:`parse_pair_answer` reads each answer; anything that is not a clean
  1–5 score is recorded as ``unparsed`` with its reason, a failed request
  as ``failed`` with the gatherer's error — never a made-up number.
* :class:`JudgeResult` holds per-item numpy columns keyed by
  ``(model_a, model_b, prompt_id)``; :func:`to_score_table` turns them into
  a :class:`~distillscope.calibrate.ScoreTable` (granularity ``"judge"``,
  scaled ``(score - 1) / 4``) so judge scores calibrate like the others;
  :func:`agreement_report` compares them with the judge-free scores.

:func:`gatherer_complete` adapts the gatherer to the ``complete(specs) ->
texts`` callable that :class:`distillscope.identity_judge.IdentityJudge`
expects.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .items import JudgeConfig, JudgeItem, build_items, parse_pairs, stable_hash
from .parse import SCORE_FIELDS, ParsedJudgement, parse_pair_answer
from .prompt import JUDGE_PROMPT_VERSION

if TYPE_CHECKING:  # pragma: no cover
    from ..gather.config import ModelConfig
    from ..gather.prompts import RequestSpec
    from ..store.table import ResponseTable

STATUSES = ("ok", "unparsed", "failed")


@dataclass(frozen=True)
class JudgeResult:
    """Per-item judge scores as numpy columns (row i = one item).

    ``overall`` and the aspect columns are on the judge's 1–5 scale, NaN
    where the item is not ``ok``; with both orders they average the orders
    that parsed (``overall_by_order[:, k]`` keeps each order, NaN where not
    run or not parsed). ``first`` is the model shown as answer 1 in order 0.
    """

    judge: str
    model_a: np.ndarray
    model_b: np.ndarray
    prompt_id: np.ndarray
    kind: np.ndarray
    prompt_b: np.ndarray
    first: np.ndarray
    overall: np.ndarray
    style: np.ndarray
    structure: np.ndarray
    content: np.ndarray
    overall_by_order: np.ndarray
    status: np.ndarray
    problem: np.ndarray
    reason: np.ndarray
    prompt_index: tuple[str, ...]
    config: JudgeConfig
    signature: str
    requested: int = 0
    already_done: int = 0
    failed_requests: int = 0
    orders: int = 1
    _lookup: dict[tuple[str, str, str, str], int] = field(default_factory=dict, repr=False, compare=False)

    def __len__(self) -> int:
        return int(self.overall.shape[0])

    def row(self, model_a: str, model_b: str, prompt_id: str, kind: str = "raw") -> int:
        """Row of an item; ``(b, a)`` finds the item judged as ``(a, b)``."""
        for key in ((model_a, model_b, prompt_id, kind), (model_b, model_a, prompt_id, kind)):
            if key in self._lookup:
                return self._lookup[key]
        raise KeyError(f"no {kind} item for ({model_a!r}, {model_b!r}, {prompt_id!r})")

    def pair(self, model_a: str, model_b: str, kind: str = "raw") -> dict[str, np.ndarray]:
        """One pair's items as arrays (``prompt_id``, scores, ``status``, ``first``), in prompt order.

        ``(b, a)`` gives the pair judged as ``(a, b)``."""
        sel = (self.model_a == model_a) & (self.model_b == model_b) & (self.kind == kind)
        if not sel.any():
            sel = (self.model_a == model_b) & (self.model_b == model_a) & (self.kind == kind)
        if not sel.any():
            raise KeyError(f"no {kind} items for the pair ({model_a!r}, {model_b!r}); judged: {self.pairs}")
        idx = np.nonzero(sel)[0]
        idx = idx[np.argsort(self.prompt_id[idx].astype(str), kind="stable")]
        out = {f: getattr(self, f)[idx] for f in ("prompt_id", *SCORE_FIELDS, "status", "first", "problem")}
        out["scaled"] = (out["overall"] - 1.0) / 4.0
        return out

    @property
    def pairs(self) -> list[tuple[str, str]]:
        seen: dict[tuple[str, str], None] = {}
        for a, b in zip(self.model_a.tolist(), self.model_b.tolist()):
            seen.setdefault((a, b), None)
        return list(seen)

    def scaled(self) -> np.ndarray:
        """Overall scores mapped to [0, 1] as (score - 1) / 4."""
        return (self.overall - 1.0) / 4.0

    def rows(self, *, kind: str | None = "raw") -> list[dict[str, Any]]:
        out = []
        for i in range(len(self)):
            if kind is not None and self.kind[i] != kind:
                continue
            r = {
                "model_a": self.model_a[i],
                "model_b": self.model_b[i],
                "prompt_id": self.prompt_id[i],
                "kind": self.kind[i],
                "first": self.first[i],
                "status": self.status[i],
                "overall": self.overall[i],
                "style": self.style[i],
                "structure": self.structure[i],
                "content": self.content[i],
                "problem": self.problem[i],
                "reason": self.reason[i],
            }
            if self.kind[i] == "null":
                r["prompt_b"] = self.prompt_b[i]
            if self.orders == 2:
                r["overall_order0"], r["overall_order1"] = self.overall_by_order[i]
            out.append(r)
        return out

    def summary(self) -> list[dict[str, Any]]:
        """Per pair (raw items): counts by status, mean scores, position effects."""
        out = []
        for a, b in self.pairs:
            sel = (self.model_a == a) & (self.model_b == b) & (self.kind == "raw")
            ok = sel & (self.status == "ok")
            r: dict[str, Any] = {
                "model_a": a,
                "model_b": b,
                "n": int(sel.sum()),
                "ok": int(ok.sum()),
                "unparsed": int((sel & (self.status == "unparsed")).sum()),
                "failed": int((sel & (self.status == "failed")).sum()),
            }
            for f in SCORE_FIELDS:
                v = getattr(self, f)[ok]
                v = v[np.isfinite(v)]
                r[f] = float(v.mean()) if v.size else None
            r["overall_scaled"] = None if r["overall"] is None else (r["overall"] - 1.0) / 4.0
            o = self.overall
            for who, label in ((a, "mean_when_a_first"), (b, "mean_when_b_first")):
                v = o[ok & (self.first == who)]
                r[label] = float(v.mean()) if v.size else None
            if self.orders == 2:
                both = sel & np.isfinite(self.overall_by_order).all(axis=1)
                gap = np.abs(self.overall_by_order[both, 0] - self.overall_by_order[both, 1])
                r["order_pairs"] = int(both.sum())
                r["mean_abs_order_gap"] = float(gap.mean()) if gap.size else None
                r["order_agreement"] = float((gap == 0).mean()) if gap.size else None
            nsel = (self.model_a == a) & (self.model_b == b) & (self.kind == "null") & (self.status == "ok")
            if nsel.any():
                r["null_overall"] = float(self.overall[nsel].mean())
            out.append(r)
        return out

    def problems(self) -> dict[str, int]:
        """How often each reason for an unparsed or failed item occurred."""
        out: dict[str, int] = {}
        for s, p in zip(self.status.tolist(), self.problem.tolist()):
            if s != "ok":
                detail = re.sub(r"\[[^\]]*\]", "[...]", re.sub(r"\([^)]*\)", "(...)", str(p)))
                key = f"{s}: {detail[:80]}"
                out[key] = out.get(key, 0) + 1
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))

    def to_dict(self, *, items: bool = True) -> dict[str, Any]:
        d: dict[str, Any] = {
            "judge": self.judge,
            "signature": self.signature,
            "prompt_version": JUDGE_PROMPT_VERSION,
            "orders": self.orders,
            "n_items": len(self),
            "requests": {"sent": self.requested, "already_in_store": self.already_done, "failed": self.failed_requests},
            "status": {s: int((self.status == s).sum()) for s in STATUSES},
            "problems": self.problems(),
            "pairs": self.summary(),
        }
        if items:
            d["items"] = self.rows(kind=None)
        return d


def collect(
    items: Sequence[JudgeItem],
    records: Mapping[tuple[str, int], Mapping[str, Any]],
    orders: int,
    judge: str,
    index: tuple[str, ...],
    cfg: JudgeConfig,
    rep: Any,
) -> JudgeResult:
    n = len(items)
    cols = {f: np.full(n, np.nan) for f in SCORE_FIELDS}
    by_order = np.full((n, 2), np.nan)
    status = np.empty(n, dtype=object)
    problem = np.empty(n, dtype=object)
    reason = np.empty(n, dtype=object)
    for i, it in enumerate(items):
        parsed: list[ParsedJudgement] = []
        for k in range(orders):
            rec = records.get((it.custom_id(k), 0))
            if rec is None:
                parsed.append(ParsedJudgement("failed", problem="no record in the store"))
            elif rec.get("error") is not None or rec.get("response") is None:
                kind = rec.get("error_kind") or "error"
                parsed.append(ParsedJudgement("failed", problem=f"{kind}: {rec.get('error')}"))
            else:
                parsed.append(parse_pair_answer(rec["response"]))
            if parsed[-1].status == "ok":
                by_order[i, k] = parsed[-1].overall
        ok = [p for p in parsed if p.status == "ok"]
        if ok:
            status[i] = "ok"
            for f in SCORE_FIELDS:
                v = np.array([getattr(p, f) for p in ok])
                v = v[np.isfinite(v)]
                cols[f][i] = v.mean() if v.size else np.nan
            bad = [p.problem for p in parsed if p.status != "ok"]
            problem[i] = f"one order not usable: {bad[0]}" if bad else None
            reason[i] = " | ".join(p.reason for p in ok if p.reason) or None
        else:
            # unparsed beats failed: the judge answered, its answer is the finding
            worst = next((p for p in parsed if p.status == "unparsed"), parsed[0])
            status[i], problem[i], reason[i] = worst.status, worst.problem, worst.reason
    obj = lambda xs: np.array(list(xs), dtype=object)
    res = JudgeResult(
        judge=judge,
        model_a=obj(it.model_a for it in items),
        model_b=obj(it.model_b for it in items),
        prompt_id=obj(it.prompt_id for it in items),
        kind=obj(it.kind for it in items),
        prompt_b=obj(it.prompt_b for it in items),
        first=obj(it.shown(0)[0] for it in items),
        overall=cols["overall"],
        style=cols["style"],
        structure=cols["structure"],
        content=cols["content"],
        overall_by_order=by_order,
        status=status,
        problem=problem,
        reason=reason,
        prompt_index=index,
        config=cfg,
        signature=cfg.signature(judge),
        orders=orders,
        requested=int(getattr(rep, "requested", 0)),
        already_done=int(getattr(rep, "already_done", 0)),
        failed_requests=int(getattr(rep, "failed", 0)),
    )
    res._lookup.update({(it.model_a, it.model_b, it.prompt_id, it.kind): i for i, it in enumerate(items)})
    return res


def judge_pairs(
    table: ResponseTable,
    judge_model: ModelConfig,
    store: str | Path,
    pairs: str | Sequence[Any] | None = None,
    config: JudgeConfig | None = None,
    *,
    progress: str = "none",
    retry_failed: bool = False,
    on_params_change: str = "rerun",
) -> JudgeResult:
    """Judge model pairs on their shared prompts through the gatherer.

    ``table``: the responses (:func:`distillscope.store.load_table`).
    ``judge_model``: a :class:`~distillscope.gather.ModelConfig` of the judge
    endpoint (its rate limits, concurrency and retries apply). ``store``:
    the judge's append-only JSONL store (cache and resume). ``pairs``:
    ``"A:B,C:D"``, ``[(A, B), ...]`` or None for every pair of the table's
    models. ``retry_failed`` re-asks items whose recorded request failed.
    ``on_params_change`` is the gatherer's policy for recorded items whose
    request text changed (``"rerun"``: ask again, newest wins).
    """
    from ..gather.config import ModelConfig
    from ..gather.run import run_requests

    if not isinstance(judge_model, ModelConfig):
        raise TypeError(f"judge_model must be a distillscope.gather.ModelConfig, got {type(judge_model).__name__}")
    cfg = config or JudgeConfig()
    if not isinstance(cfg, JudgeConfig):
        raise TypeError(f"config must be a JudgeConfig, got {type(cfg).__name__}")
    pair_list = parse_pairs(pairs, [str(m) for m in table.models])
    items, index = build_items(table, pair_list, cfg)
    orders = 2 if cfg.both_orders else 1
    specs = [it.request(k, cfg) for it in items for k in range(orders)]
    res = run_requests(
        judge_model,
        specs,
        store,
        progress=progress,
        retry_failed=retry_failed,
        on_params_change=on_params_change,
        seed=cfg.seed,
    )
    return collect(items, res.records, orders, judge_model.name, index, cfg, res.report)


# --------------------------------------------------------------------------- identity-judge wiring
def gatherer_complete(
    model: ModelConfig,
    store: str | Path,
    *,
    progress: str = "none",
    retry_failed: bool = False,
    seed: int | None = None,
) -> Callable[[list[dict[str, Any]]], list[str | None]]:
    """A ``complete(specs) -> texts`` callable backed by the gatherer.

    Each spec is an OpenAI-style dict (``model``, ``messages`` and sampling
    keys such as ``temperature`` / ``max_tokens``), as
    :class:`~distillscope.identity_judge.IdentityJudge` builds them. They are
    sent with :func:`~distillscope.gather.run_requests` under ``model``'s
    rate limits and retries into ``store``; the custom id is a hash of the
    whole spec, so asking the same thing again is answered from the store
    without a request. A spec naming another API model than ``model.model``
    is sent to the same endpoint with that model name. Failed requests give
    None.
    """
    from ..gather.config import ModelConfig
    from ..gather.prompts import RequestSpec
    from ..gather.run import run_requests

    if not isinstance(model, ModelConfig):
        raise TypeError(f"model must be a distillscope.gather.ModelConfig, got {type(model).__name__}")
    store = Path(store)

    def complete(specs: list[dict[str, Any]]) -> list[str | None]:
        groups: dict[str, list[tuple[int, RequestSpec]]] = {}
        for i, s in enumerate(specs):
            if not isinstance(s, Mapping) or "messages" not in s:
                raise TypeError(f"spec {i} must be a dict with 'messages' (and optionally 'model' and sampling keys)")
            api_model = str(s.get("model") or model.model)
            params = {k: v for k, v in s.items() if k not in ("model", "messages")}
            cid = (
                "cmpl-"
                + stable_hash(
                    api_model,
                    json.dumps(s["messages"], sort_keys=True, ensure_ascii=False),
                    json.dumps(params, sort_keys=True, default=str),
                )[:32]
            )
            groups.setdefault(api_model, []).append((i, RequestSpec(cid, tuple(s["messages"]), params=params)))
        out: list[str | None] = [None] * len(specs)
        for api_model, entries in groups.items():
            cfg = model if api_model == model.model else replace(model, model=api_model)
            unique = list({sp.custom_id: sp for _, sp in entries}.values())
            res = run_requests(cfg, unique, store, progress=progress, retry_failed=retry_failed, seed=seed)
            for i, sp in entries:
                out[i] = res.response(sp.custom_id)
        return out

    return complete


__all__ = ["STATUSES", "JudgeResult", "collect", "gatherer_complete", "judge_pairs"]

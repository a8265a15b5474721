"""Planning (resume): which requests a run still has to send.

A key (model, prompt id, sample) already in the store with the same request
hash is done; a recorded failure is kept unless retried; a record made with
other prompts or parameters follows the config's ``on_params_change``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..store.store import latest_records
from .config import GatherConfig, ModelConfig
from .prompts import Prompt, RequestSpec, load_prompts, params_hash, specs_for_prompts


@dataclass
class ModelPlan:
    model: ModelConfig
    specs: list[RequestSpec]
    todo: list[RequestSpec]
    done: int
    changed: int
    failed_kept: int

    @property
    def planned(self) -> int:
        return len(self.specs)

    @property
    def n_todo(self) -> int:
        return len(self.todo)


@dataclass
class ModelCount:
    """The numbers of a :class:`ModelPlan` without its request lists (what
    ``--dry-run`` prints; counting needs memory for the store's records of
    this model only, not for prompts x samples requests)."""

    model: ModelConfig
    planned: int
    done: int
    n_todo: int
    changed: int
    failed_kept: int


class _Totals:
    """Totals and the description shared by a plan and its count."""

    store: str
    models: Sequence[ModelPlan | ModelCount]

    @property
    def planned(self) -> int:
        return sum(m.planned for m in self.models)

    @property
    def todo(self) -> int:
        return sum(m.n_todo for m in self.models)

    def describe(self) -> str:
        return describe_plan(self.store, self.models)


@dataclass
class Plan(_Totals):
    """What a run will send: a :class:`ModelPlan` (with its requests) per model."""

    store: str
    models: list[ModelPlan]


@dataclass
class PlanCount(_Totals):
    """The numbers of a :class:`Plan` without its requests (``--dry-run``)."""

    store: str
    models: list[ModelCount]


def describe_plan(store: str, models: Sequence[ModelPlan | ModelCount]) -> str:
    lines = [f"store: {store}"]
    for mp in models:
        m = mp.model
        rate = f"{m.requests_per_minute:g} req/min" if m.requests_per_minute else "no req limit"
        tok = f", {m.tokens_per_minute:g} tok/min" if m.tokens_per_minute else ""
        lines.append(
            f"  {m.name:<20} {m.model} @ {m.base_url}  planned {mp.planned}  done {mp.done}  "
            f"to request {mp.n_todo}  (x{m.samples} samples, concurrency {m.concurrency}, {rate}{tok})"
        )
        if mp.failed_kept:
            lines.append(f"    {mp.failed_kept} recorded failures kept (use --retry-failed to retry them)")
    lines.append(f"total: {sum(m.planned for m in models)} planned, {sum(m.n_todo for m in models)} requests to send")
    return "\n".join(lines)


def plan_jobs(
    store: str,
    jobs: Sequence[tuple[ModelConfig, Sequence[RequestSpec]]],
    *,
    retry_failed: bool,
    on_params_change: str,
) -> Plan:
    latest = latest_records(store)
    out = []
    for model, specs in jobs:
        seen: set[tuple[str, int]] = set()
        todo, done, changed, failed_kept = [], 0, 0, 0
        for spec in specs:
            k = (spec.custom_id, spec.sample)
            if k in seen:
                raise ValueError(
                    f"model {model.name!r}: request {spec.custom_id!r} sample {spec.sample} is listed twice; "
                    "custom ids must be unique per sample"
                )
            seen.add(k)
            rec = latest.get((model.name, spec.custom_id, spec.sample))
            if rec is None:
                todo.append(spec)
                continue
            if rec.get("params_hash") != params_hash(model, spec):
                changed += 1
                if on_params_change == "rerun":
                    todo.append(spec)
                elif on_params_change == "keep":
                    done += 1
                continue
            if rec.get("error") is not None:
                if retry_failed:
                    todo.append(spec)
                    continue
                failed_kept += 1
            done += 1
        if changed and on_params_change == "error":
            raise ValueError(
                f"model {model.name!r}: {changed} records in {store} were made with other prompts or sampling "
                'parameters; set [run] on_params_change = "rerun" (re-ask, newest record wins) or "keep" '
                "(keep old answers), or use a new store"
            )
        out.append(ModelPlan(model, list(specs), todo, done, changed, failed_kept))
    return Plan(store, out)


def _load_all_prompts(config: GatherConfig) -> list[Prompt]:
    prompts: list[Prompt] = []
    ids: set[str] = set()
    for src in config.prompts:
        for p in load_prompts(src):
            if p.id in ids:
                raise ValueError(f"prompt id {p.id!r} appears in two prompt files; set id_prefix in one [[prompts]]")
            ids.add(p.id)
            prompts.append(p)
    return prompts


def plan(config: GatherConfig, *, retry_failed: bool | None = None) -> Plan:
    """What a run of ``config`` would send, given what its store holds."""
    prompts = _load_all_prompts(config)
    jobs = [(m, specs_for_prompts(m, prompts)) for m in config.models]
    return plan_jobs(
        config.store,
        jobs,
        retry_failed=config.retry_failed if retry_failed is None else retry_failed,
        on_params_change=config.on_params_change,
    )


def count_plan(config: GatherConfig, *, retry_failed: bool | None = None) -> PlanCount:
    """The numbers of :func:`plan` without building a request per (prompt,
    sample): planned = prompts x samples, and only keys already in the store
    are looked at one by one. Same decisions as :func:`plan_jobs`."""
    prompts = _load_all_prompts(config)
    by_id = {p.id: p for p in prompts}
    retry = config.retry_failed if retry_failed is None else retry_failed
    policy = config.on_params_change
    latest = latest_records(config.store)
    counts: list[ModelCount] = []
    for model in config.models:
        planned = len(prompts) * model.samples
        matched = done = to_redo = changed = failed_kept = 0
        for (name, pid, sample), rec in latest.items():
            p = by_id.get(pid)
            if name != model.name or p is None or not 0 <= sample < model.samples:
                continue
            matched += 1
            if rec.get("params_hash") != params_hash(model, RequestSpec(p.id, p.messages, sample)):
                changed += 1
                if policy == "rerun":
                    to_redo += 1
                elif policy == "keep":
                    done += 1
                continue
            if rec.get("error") is not None:
                if retry:
                    to_redo += 1
                    continue
                failed_kept += 1
            done += 1
        if changed and policy == "error":
            raise ValueError(
                f"model {model.name!r}: {changed} records in {config.store} were made with other prompts or sampling "
                'parameters; set [run] on_params_change = "rerun" (re-ask, newest record wins) or "keep" '
                "(keep old answers), or use a new store"
            )
        counts.append(ModelCount(model, planned, done, planned - matched + to_redo, changed, failed_kept))
    return PlanCount(config.store, counts)


__all__ = ["ModelCount", "ModelPlan", "Plan", "PlanCount", "count_plan", "describe_plan", "plan", "plan_jobs"]

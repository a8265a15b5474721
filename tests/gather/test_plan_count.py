"""`gather --dry-run` counts the plan without building it (issue 13):
samples = 10**8 answers at once, and the counts equal the full plan's."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from distillscope import cli
from distillscope.gather.config import GatherConfig, ModelConfig, PromptSource
from distillscope.gather.plan import count_plan, plan
from distillscope.gather.prompts import RequestSpec, params_hash
from distillscope.store.store import ResponseStore, make_record


def _config(tmp_path, samples=3, **kw):
    rows = [{"id": f"p{i}", "prompt": f"question {i}"} for i in range(5)]
    (tmp_path / "prompts.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    m = ModelConfig("m", "http://127.0.0.1:9/v1", "a", samples=samples, params={"temperature": 0.5})
    return GatherConfig(str(tmp_path / "s.jsonl"), (PromptSource(str(tmp_path / "prompts.jsonl")),), (m,), **kw)


def test_dry_run_of_a_huge_sample_count_builds_no_request(tmp_path, capsys, monkeypatch):
    import importlib

    plan_mod = importlib.import_module("distillscope.gather.plan")  # the package re-exports a function `plan`

    built = []
    real_spec = plan_mod.RequestSpec

    def counting_spec(*a, **k):
        built.append(1)
        return real_spec(*a, **k)

    def no_materialising(*a, **k):
        raise AssertionError("--dry-run built the request list")

    monkeypatch.setattr(plan_mod, "RequestSpec", counting_spec)
    monkeypatch.setattr(plan_mod, "specs_for_prompts", no_materialising)
    cfg = tmp_path / "g.toml"
    (tmp_path / "prompts.jsonl").write_text('{"id": "a", "prompt": "x"}\n{"id": "b", "prompt": "y"}\n')
    cfg.write_text(
        '[run]\nstore = "s.jsonl"\n[[prompts]]\nfile = "prompts.jsonl"\n'
        '[[models]]\nname = "m"\nbase_url = "http://127.0.0.1:9/v1"\nmodel = "a"\nsamples = 100000000\n'
    )
    rc = cli.main(["gather", str(cfg), "--dry-run", "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert out["planned"] == out["requests"] == 200_000_000
    assert built == []  # counting looked at no (prompt, sample) one by one


@pytest.mark.parametrize("policy", ["rerun", "keep"])
@pytest.mark.parametrize("retry_failed", [False, True])
def test_counts_equal_the_full_plan(tmp_path, policy, retry_failed):
    cfg = _config(tmp_path, on_params_change=policy)
    m = cfg.models[0]
    other = replace(m, params={"temperature": 0.9})
    with ResponseStore(cfg.store) as st:
        for pid, s, model, err in [("p0", 0, m, None), ("p0", 1, m, "boom"), ("p1", 0, other, None),
                                   ("p2", 2, m, None), ("p2", 7, m, None), ("zz", 0, m, None)]:
            spec = RequestSpec(pid, ({"role": "user", "content": f"question {pid[1:]}"},), s)
            st.append(make_record("m", pid, s, None if err else "ok", err, params_hash=params_hash(model, spec)))
        st.append(make_record("other-model", "p3", 0, "ok"))
    full = plan(cfg, retry_failed=retry_failed)
    counted = count_plan(cfg, retry_failed=retry_failed)
    for a, b in zip(full.models, counted.models):
        assert (a.planned, a.done, a.n_todo, a.changed, a.failed_kept) == (
            b.planned, b.done, b.n_todo, b.changed, b.failed_kept)
    assert full.describe() == counted.describe()


def test_changed_parameters_with_policy_error_raise_in_both(tmp_path):
    cfg = _config(tmp_path)
    with ResponseStore(cfg.store) as st:
        st.append(make_record("m", "p0", 0, "ok", params_hash="different"))
    for fn in (plan, count_plan):
        with pytest.raises(ValueError, match="on_params_change"):
            fn(cfg)

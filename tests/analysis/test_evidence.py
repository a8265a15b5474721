"""Evidence: shared spans between two answers, and the prompts behind a degree."""

from __future__ import annotations

import numpy as np
import pytest

from distillscope.analysis.attribution import attribute
from distillscope.analysis.degree import DegreeConfig
from distillscope.analysis.evidence import build_evidence, shared_spans
from distillscope.analysis.table import ScoreTable
from distillscope.store.table import load_table


def test_shared_spans_marks_common_runs_after_normalization():
    a = "The quick brown fox jumps over the lazy dog. Then it ran away, far away."
    b = "Indeed, the QUICK brown fox jumps over the lazy cat; then it ran away."
    r = shared_spans(a, b, n=4)
    assert [a[x:y] for x, y in r["a"]] == ["The quick brown fox jumps over the lazy", "Then it ran away"]
    assert [b[x:y] for x, y in r["b"]] == ["the QUICK brown fox jumps over the lazy", "then it ran away"]
    assert r["longest"] == 8
    cjk = shared_spans("我喜欢吃苹果和香蕉", "他也喜欢吃苹果和梨", n=3)
    assert cjk["a"] == [[1, 7]] and cjk["longest"] == 6  # one unit per ideograph
    none = shared_spans("alpha beta gamma delta", "one two three four", n=2)
    assert none["a"] == [] and none["longest"] == 0 and none["shared_fraction_a"] == 0.0
    with pytest.raises(ValueError, match="n must"):
        shared_spans("a", "b", n=0)


def test_build_evidence_ranks_the_copied_prompts_first():
    """S copies T on prompts 0 and 3 only (a share of 2/30); the evidence shows those first."""
    P = 30
    copied = (0, 3)
    texts = {
        "T": [f"Teacher explains item {p} with a long distinctive sentence about gardens and rivers" for p in range(P)],
        "O": [f"Other model writes its own thing about {p} entirely differently from everyone" for p in range(P)],
        "U": [f"Answer number {p} talks about topic {p} in its own words" for p in range(P)],
        "V": [f"A fourth voice answers question {p} briefly" for p in range(P)],
        "W": [f"Yet another model rambles on item {p} at length" for p in range(P)],
    }
    texts["S"] = [texts["T"][p] if p in copied else f"Student says something else for {p}" for p in range(P)]
    recs = [
        {"model": m, "prompt_id": f"p{p}", "sample": 0, "response": t[p], "prompt": f"question {p}"}
        for m, t in texts.items()
        for p in range(P)
    ]
    responses = load_table(recs)
    models = ("O", "S", "T", "U", "V", "W")
    sim = {}
    rng = np.random.default_rng(3)
    for a in models:
        for b in models:
            if a < b:  # unrelated answers: scattered low scores; a copy: 1
                sim[(a, b)] = np.array(
                    [1.0 if texts[a][p] == texts[b][p] else rng.uniform(0.05, 0.2) for p in range(P)]
                )
    st = ScoreTable(models=models, scores={"lexical": sim}, prompt_ids=tuple(f"p{p}" for p in range(P)))
    attr = attribute(st, config=DegreeConfig(n_boot=50, seed=0))
    ev = {e["student"]: e for e in build_evidence(st, responses, attr, per_student=2)}
    s = ev["S"]
    assert s["candidate"] == "T"
    assert 0.0 < s["degree"] < 0.2  # about the copied share, 2/30
    assert [p["prompt_id"] for p in s["prompts"]] == ["p0", "p3"]
    first = s["prompts"][0]
    assert first["contribution"] > 0.5 and first["student_answer"] == texts["S"][0]
    assert first["student_spans"] == [[0, len(texts["S"][0])]] and first["prompt"] == "question 0"
    assert build_evidence(st, responses, attr, per_student=0) == []

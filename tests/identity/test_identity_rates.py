"""Identity rates: loose / strict / hard definitions, Wilson intervals, language detection."""

from __future__ import annotations

import pytest

from distillscope.identity.check import check_records
from distillscope.identity.claims import classify
from distillscope.identity.rates import identity_rates
from distillscope.stats import wilson_interval

# --------------------------------------------------------------------------- rates


def test_rates_definitions():
    recs = [
        {"prompt": "Who made you?", "response": "I am ChatGPT.", "category": "team", "language": "en"},
        {"prompt": "Who made you?", "response": "I am Qwen.", "category": "team", "language": "en"},
        {"prompt": "Are you ChatGPT?", "response": "I'm GPT-4 from OpenAI.", "category": "team", "language": "en"},
        {"prompt": "你是谁？", "response": "我是美国公司开发的。", "category": "location", "language": "zh"},
        {"prompt": "你是谁？", "response": "你好！", "category": "location", "language": "zh"},
    ]
    res = check_records(recs, "qwen")
    verdicts = [v["verdict"] for v in res["verdicts"]]
    assert verdicts == ["contradicts", "consistent", "contradicts", "contradicts", "no_claim"]
    assert [v["strict"] for v in res["verdicts"]] == [True, False, True, False, False]
    assert [v["hard"] for v in res["verdicts"]] == [True, True, False, True, True]
    R = res["rates"]
    assert (R["loose"]["count"], R["loose"]["n"]) == (3, 5)
    assert (R["strict"]["count"], R["strict"]["n"]) == (2, 5)
    assert (R["hard"]["count"], R["hard"]["n"]) == (1, 4)
    lo, hi = wilson_interval(3, 5)
    assert R["loose"]["ci_low"] == pytest.approx(lo) and R["loose"]["ci_high"] == pytest.approx(hi)
    assert R["loose"]["rate"] == pytest.approx(0.6)
    assert R["by_category"]["team"]["strict"]["count"] == 2
    assert R["by_category"]["location"]["loose"]["count"] == 1
    assert R["by_category"]["location"]["strict"]["count"] == 0
    assert R["by_language"]["zh"]["loose"]["n"] == 2
    assert R["verdict_counts"] == {"consistent": 1, "contradicts": 3, "no_claim": 1}
    # an explicit hard flag wins over detection
    recs[2]["hard"] = True
    assert check_records(recs, "qwen")["rates"]["hard"]["count"] == 2


def test_rates_empty_and_mismatch():
    r = identity_rates([], hard=[])
    assert r.loose.n == 0 and (r.loose.ci_low, r.loose.ci_high) == (0.0, 1.0)
    assert r.to_dict()["loose"]["rate"] is None
    with pytest.raises(ValueError, match="one flag"):
        identity_rates([classify("I am Qwen", "qwen")], hard=[])

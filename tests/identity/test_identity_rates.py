"""Identity rates: loose / strict / hard definitions, Wilson intervals, language detection."""

from __future__ import annotations

import pytest

from distillscope.identity.check import check_records
from distillscope.identity.claims import classify
from distillscope.identity.rates import detect_language, identity_rates
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


def _ten_verdicts():
    """3 strict contradictions among 10 responses, the rest consistent."""
    bad, good = classify("I am ChatGPT.", "qwen"), classify("I am Qwen.", "qwen")
    assert (bad.verdict, bad.strict, good.verdict) == ("contradicts", True, "consistent")
    return [bad] * 3 + [good] * 7


def test_rates_use_the_requested_confidence():
    """Wilson interval for 3 of 10, by hand: p = 0.3, centre = (p + z²/2n) / (1 + z²/n),
    half = z sqrt(p(1-p)/n + z²/4n²) / (1 + z²/n).
    95 % (z = 1.959964, z²/n = 0.384146): centre 0.355506, half 0.247715 -> (0.107791, 0.603222);
    90 % (z = 1.644854, z²/n = 0.270554): centre 0.342588, half 0.215712 -> (0.126877, 0.558300).
    The default is 95 %."""
    v = _ten_verdicts()
    for kw, want in (({}, (0.107791, 0.603222)), ({"confidence": 0.90}, (0.126877, 0.558300))):
        r = identity_rates(v, hard=[True] * 10, categories=["team"] * 10, **kw)
        for rate in (r.loose, r.strict, r.hard, r.by_category["team"]["loose"]):
            assert (rate.count, rate.n) == (3, 10)
            assert rate.ci_low == pytest.approx(want[0], abs=2e-6) and rate.ci_high == pytest.approx(want[1], abs=2e-6)
    assert identity_rates(v, hard=[True] * 10).confidence == 0.95


def test_rates_groups_skip_missing_keys():
    v = _ten_verdicts()
    r = identity_rates(v, hard=[False] * 10)
    assert r.by_category == {} and r.by_language == {}
    assert r.hard.n == 0 and r.to_dict()["hard"]["rate"] is None
    # a response without a category counts overall but opens no "None" group
    cats = ["team"] * 5 + [None] * 5
    r = identity_rates(v, hard=[True] * 10, categories=cats, languages=["en"] * 9 + [None])
    assert set(r.by_category) == {"team"} and r.by_category["team"]["loose"].n == 5
    assert set(r.by_language) == {"en"} and r.by_language["en"]["loose"].n == 9
    assert r.loose.n == 10


# --------------------------------------------------------------------------- language


def test_detect_language_boundaries():
    # CJK characters are counted one by one, Latin letters by word
    assert detect_language("我 ok") == "zh"  # a tie (1 character, 1 word) goes to Chinese
    assert detect_language("我 ok go") == "en"
    assert detect_language("你好") == "zh" and detect_language("hello") == "en"
    # no letters at all: nothing dominates, so English (the default), not Chinese
    assert detect_language("") == "en" and detect_language("12345 ?!") == "en"

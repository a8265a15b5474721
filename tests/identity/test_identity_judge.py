"""Optional LLM judge for ICE: request building, parsing, caching, agreement."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from distillscope.identity.claims import ClaimExtractor
from distillscope.identity.registry import Registry
from distillscope.judge.identity import IdentityJudge, agreement, parse_judge_answer

DATA = Path(__file__).parents[1] / "data" / "identity_labelled.jsonl"


@pytest.fixture(scope="module")
def labelled():
    return [json.loads(x) for x in DATA.read_text(encoding="utf-8").splitlines() if x.strip()]


def _answer_in(spec) -> str:
    user = spec["messages"][-1]["content"]
    m = re.search(r"<answer>\n(.*)\n</answer>", user, re.DOTALL)
    assert m, "the judge request must carry the answer between <answer> tags"
    return m.group(1)


class FakeJudge:
    """A deterministic stand-in for a judge model.

    It knows the gold label of each labelled response and writes it in one of
    several styles real judges produce — clean JSON, fenced JSON with prose,
    Python-dict quoting, trailing commas, 'Verdict:' lines, a think block,
    synonyms — and sometimes garbage or a failed request. It also disagrees
    on purpose with a few gold labels, as a real judge would.
    """

    def __init__(self, gold: dict[str, dict]):
        self.gold = gold
        self.calls = 0
        self.requests = 0

    def __call__(self, specs):
        self.calls += 1
        self.requests += len(specs)
        out = []
        for spec in specs:
            assert spec["model"] and spec["temperature"] == 0.0
            assert spec["messages"][0]["role"] == "system"
            resp = _answer_in(spec)
            g = self.gold[resp]
            label, strict = g["label"], bool(g.get("strict", False))
            h = int(hashlib.sha256(resp.encode()).hexdigest(), 16)
            if h % 29 == 0:  # deliberate disagreement
                label = "no_claim" if label != "no_claim" else "consistent"
                strict = False
            style = h % 10
            ev = resp[:40].replace('"', "'")
            if style == 0:
                out.append(json.dumps({"verdict": label, "strict": strict, "claimed": "", "evidence": ev}))
            elif style == 1:
                out.append(
                    f"Here is my assessment.\n```json\n{json.dumps({'verdict': label, 'strict': strict})}\n```\nLet me know if you need more."
                )
            elif style == 2:
                out.append(f"{{'verdict': '{label}', 'strict': {'True' if strict else 'False'}, 'claimed': None}}")
            elif style == 3:
                out.append(f'{{\n  "verdict": "{label}",\n  "strict": {"true" if strict else "false"},\n}}')
            elif style == 4:
                out.append(f"Verdict: {label}\nStrict: {'yes' if strict else 'no'}\nReason: see the answer.")
            elif style == 5:
                out.append("I'm not able to evaluate this conversation.")  # unparseable
            elif style == 6:
                out.append(
                    "<think>the answer says something about itself {maybe}</think>"
                    + json.dumps({"verdict": label, "strict": strict})
                )
            elif style == 7:
                syn = {"contradicts": "Contradiction", "consistent": "CONSISTENT", "no_claim": "no claim"}[label]
                out.append(json.dumps({"Verdict": syn, "strict": "true" if strict else "false"}))
            elif style == 8:
                out.append(None)  # the request failed
            else:
                out.append(label)  # a bare label
        return out


def _items(rows, reg):
    return [(r["prompt"], r["response"], reg.target(r["target"])) for r in rows]


def test_parse_styles():
    assert parse_judge_answer('{"verdict": "contradicts", "strict": true, "claimed": "GPT-4"}').verdict == "contradicts"
    v = parse_judge_answer("```json\n{'verdict': 'contradicts', 'claimed': 'OpenAI',}\n```")
    assert v.parsed and v.verdict == "contradicts" and v.strict is True and v.claimed == "OpenAI"
    v = parse_judge_answer("Verdict: **no claim**")
    assert v.verdict == "no_claim" and v.strict is False
    v = parse_judge_answer('Some text {not json} then {"verdict": "consistent"} trailing')
    assert v.verdict == "consistent"
    for bad in ["", "maybe?", '{"verdict": "perhaps"}', "{{{{", None]:
        v = parse_judge_answer(bad)
        assert not v.parsed and v.verdict is None
    assert parse_judge_answer('{"verdict": "contradicts", "strict": "no"}').strict is False
    assert parse_judge_answer('{"verdict": "矛盾"}').verdict == "contradicts"


def test_judge_batches_and_caches(tmp_path, labelled):
    reg = Registry.default()
    rows = labelled[:60]
    fake = FakeJudge({r["response"]: r for r in labelled})
    cache = tmp_path / "judge_cache.jsonl"
    judge = IdentityJudge(fake, "judge-model-a", cache=cache, registry=reg)
    first = judge.judge(_items(rows, reg))
    assert fake.calls == 1 and fake.requests == len({r["response"] + r["prompt"] + r["target"] for r in rows})
    assert len(first) == len(rows)
    parsed = [v for v in first if v.parsed]
    assert 0.6 * len(rows) < len(parsed) < len(rows)  # the garbage and failures are reported, not guessed
    for v, r in zip(first, rows):
        if (
            v.parsed and v.verdict == r["label"] == "contradicts" and v.strict is not None
        ):  # a bare label leaves it open
            assert v.strict == r["strict"]
    # second run: only the unparsed/failed ones are asked again
    unparsed = len(rows) - len(parsed)
    second = judge.judge(_items(rows, reg))
    assert fake.calls == 2 and fake.requests == len(rows) + unparsed
    assert all(v.cached for v in second if v.parsed)
    assert [v.verdict for v in second] == [v.verdict for v in first]
    # a new judge object reads the file cache; a torn last line is ignored
    with cache.open("a", encoding="utf-8") as fh:
        fh.write('{"judge_model": "judge-model-a", "prompt_ha')
    fake2 = FakeJudge(fake.gold)
    again = IdentityJudge(fake2, "judge-model-a", cache=cache, registry=reg).judge(_items(rows, reg))
    assert fake2.requests == unparsed
    assert [v.verdict for v in again] == [v.verdict for v in first]
    # the key includes the judge model
    fake3 = FakeJudge(fake.gold)
    IdentityJudge(fake3, "judge-model-b", cache=cache, registry=reg).judge(_items(rows[:5], reg))
    assert fake3.requests == 5


def test_judge_agreement_with_extractor(labelled):
    reg = Registry.default()
    ext = ClaimExtractor(reg)
    fake = FakeJudge({r["response"]: r for r in labelled})
    jv = IdentityJudge(fake, "judge-model-a", registry=reg).judge(_items(labelled, reg))
    ev = [ext.classify(r["response"], reg.target(r["target"]), r["prompt"], stem=r.get("stem")) for r in labelled]
    rep = agreement(ev, jv)
    assert rep["n"] + rep["unparsed"] == len(labelled)
    assert rep["unparsed"] > 0
    assert sum(map(sum, rep["confusion"])) == rep["n"]
    # the fake judge follows the gold labels except for deliberate disagreements
    assert 0.85 <= rep["agreement"] < 1.0
    assert 0.75 <= rep["kappa"] < 1.0
    assert rep["strict_agreement"] is not None and rep["strict_agreement"] >= 0.9
    with pytest.raises(ValueError, match="one judge verdict"):
        agreement(ev, jv[:-1])
    # the same through the record-level API and check_records' dicts
    from distillscope.identity.check import check_records

    res = check_records(labelled, None, registry=reg)
    jv2 = IdentityJudge(fake, "judge-model-a", registry=reg).judge_records(labelled, None)
    assert [v.verdict for v in jv2] == [v.verdict for v in jv]
    assert agreement(res["verdicts"], jv2) == rep


def test_judge_bad_complete():
    reg = Registry.default()
    with pytest.raises(TypeError):
        IdentityJudge("not callable", "m")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        IdentityJudge(lambda s: [], "")
    judge = IdentityJudge(lambda specs: ["{}"] * (len(specs) + 1), "m", registry=reg)
    with pytest.raises(ValueError, match="one per request"):
        judge.judge([("q", "I am Qwen", reg.target("qwen"))])


def test_judge_prompt_is_own_and_names_target():
    reg = Registry.default()
    spec = IdentityJudge(lambda s: [], "m", registry=reg).request("Who made you?", "I am X.", reg.target("qwen2.5-7b"))
    sys_msg, user = spec["messages"][0]["content"], spec["messages"][1]["content"]
    assert "first person" in sys_msg and "JSON" in sys_msg
    assert "Alibaba" in user and "Qwen" in user and "Who made you?" in user and "I am X." in user
    assert IdentityJudge.prompt_hash(spec) == IdentityJudge.prompt_hash(json.loads(json.dumps(spec)))

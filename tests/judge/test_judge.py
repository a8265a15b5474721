"""RSE LLM-judge mode: parsing, gatherer runs against the real simulated
server (faults, resume, position control), ScoreTable export, agreement,
and the identity-judge wiring."""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from distillscope.analysis.degree import DegreeConfig, compute_degrees
from distillscope.analysis.similarity import LEXICAL_METRICS, RSEConfig, response_similarity
from distillscope.gather.config import ModelConfig
from distillscope.gather.simserver import (
    Faults,
    SimServer,
    copy_responder,
    default_responder,
    message_text,
)
from distillscope.judge.agreement import agreement_report, render_agreement, render_summary, to_score_table
from distillscope.judge.items import JudgeConfig, build_items, parse_pairs, show_b_first
from distillscope.judge.pairs import gatherer_complete, judge_pairs
from distillscope.judge.parse import parse_pair_answer
from distillscope.stats import derangement
from distillscope.store.store import make_record, read_records
from distillscope.store.table import load_table
from distillscope.text.lexical import lexical_scores

# --------------------------------------------------------------------------- parsing
OK_CASES = [
    ('{"style": 3, "structure": 2, "content": 4, "overall": 3, "reason": "shared list"}', 3, (3, 2, 4)),
    (
        'Here is my rating:\n```json\n{"style": 4, "structure": 4, "content": 5, "overall": 4,}\n```\nHope it helps.',
        4,
        (4, 4, 5),
    ),
    ('The answers share a layout. {"overall": 2, "style": 3} That is all; the rest differs.', 2, (3, None, None)),
    ("{'overall': 2, 'style': 1, 'structure': 1, 'content': 2}", 2, (1, 1, 2)),
    ('{"scores": {"style": 2, "logical_structure": 3, "content_detail": 2}, "overall_score": "3/5"}', 3, (2, 3, 2)),
    ('{"style": {"score": 5, "why": "same bullets"}, "overall": {"score": 4}}', 4, (5, None, None)),
    ("Overall: 4", 4, (None, None, None)),
    ("**Style**: 2/5\n**Structure**: 3/5\n**Content detail**: 4/5\n**Overall score**: 3/5", 3, (2, 3, 4)),
    ("Score: 4/5", 4, (None, None, None)),
    ("I would give this pair a 2 out of 5.", 2, (None, None, None)),
    ("5", 5, (None, None, None)),
    ("The overall similarity is 2 because the style is 1.", 2, (1, None, None)),
    ('<think>maybe overall: 2</think>{"overall": 5, "style": 5, "structure": 5, "content": 5}', 5, (5, 5, 5)),
    ('{"overall": 3.5}', 3.5, (None, None, None)),
    ('{"style": "4", "structure": "3", "content": "2", "overall": "3"}', 3, (4, 3, 2)),
    # the schema restated first, then the real answer: the last complete object wins
    ('Format: {"style": 1, "overall": 1}. My answer: {"style": 4, "overall": 4}', 4, (4, None, None)),
]

BAD_CASES = [
    ("banana bread is great", "no overall score"),
    ('{"overall": 7, "style": 3}', "out of range"),
    ('{"overall": 0}', "out of range"),
    ('{"overall": 4, "style": 9}', "style: out of range"),
    ("Score: 8/10", "wrong scale"),
    ("Overall: 3. Thinking again, overall: 4.", "ambiguous"),
    ('{"overall": true}', "not a number"),
    ('{"overall": "high"}', "not a number"),
    ('{"style": 3, "structure": 2}', "no overall"),
    ("Style: 3\nStructure: 2\nContent: 4", "no overall"),
    ("", "empty"),
    ("   \n ", "empty"),
    ('{"overall": ', "no overall score"),
]


@pytest.mark.parametrize("text,overall,aspects", OK_CASES)
def test_parse_ok(text, overall, aspects):
    p = parse_pair_answer(text)
    assert p.status == "ok", p
    assert p.overall == overall
    for name, want in zip(("style", "structure", "content"), aspects):
        got = getattr(p, name)
        assert math.isnan(got) if want is None else got == want, (name, got, want)


@pytest.mark.parametrize("text,why", BAD_CASES)
def test_parse_refuses_without_inventing_a_score(text, why):
    p = parse_pair_answer(text)
    assert p.status == "unparsed"
    assert why in p.problem
    assert all(math.isnan(v) for v in p.scores().values())


def test_parse_none_and_non_text():
    assert parse_pair_answer(None).status == "failed"
    assert parse_pair_answer(5).status == "unparsed"  # type: ignore[arg-type]


def test_parse_pairs_and_config_validation():
    models = ["a", "b", "c"]
    assert parse_pairs(None, models) == [("a", "b"), ("a", "c"), ("b", "c")]
    assert parse_pairs("a:b, c:a", models) == [("a", "b"), ("c", "a")]
    with pytest.raises(ValueError, match="unknown model 'z'"):
        parse_pairs("a:z", models)
    with pytest.raises(ValueError, match="listed twice"):
        parse_pairs("a:b,b:a", models)
    with pytest.raises(ValueError, match="MODEL_A:MODEL_B"):
        parse_pairs("ab", models)
    with pytest.raises(ValueError, match="itself"):
        parse_pairs("a:a", models)
    with pytest.raises(ValueError, match="max_prompts"):
        JudgeConfig(max_prompts=0)
    with pytest.raises(ValueError, match="max_tokens"):
        JudgeConfig(max_tokens=3)


# --------------------------------------------------------------------------- data
TEACHER = "teacher"
RATES = {"s_high": 0.85, "s_mid": 0.5, "s_low": 0.15}


def _records(n_prompts=14, marker_prompt=None):
    """Answers of a teacher and three students copying it at known rates."""
    resp = copy_responder(TEACHER, RATES)
    recs = []
    for p in range(n_prompts):
        prompt = f"Question {p}: how should one plan a project about topic {p * 7 % 11}?"
        msgs = [{"role": "user", "content": prompt}]
        for m in (TEACHER, *RATES):
            text = resp(m, msgs, 0, None).text
            if marker_prompt == p and m == "s_low":
                text += " ZZ-STICKY-FAIL"
            recs.append(make_record(m, f"p{p:02d}", 0, text, prompt=prompt))
    return recs


def _answers(user: str) -> tuple[str, str]:
    m1 = re.search(r"<answer_1>\n(.*?)\n</answer_1>", user, re.DOTALL)
    m2 = re.search(r"<answer_2>\n(.*?)\n</answer_2>", user, re.DOTALL)
    assert m1 and m2, "the judge request must carry both answers in tags"
    return m1.group(1), m2.group(1)


def _lexical(a: str, b: str) -> float:
    """The judge-free 'lexical' granularity, symmetrised as agreement_report does."""
    vals = []
    for x, y in ((a, b), (b, a)):
        lex = lexical_scores([x], [y], metrics=LEXICAL_METRICS, tokenizer="unicode")
        vals.append(np.mean([float(lex[k][0]) / (100.0 if k in ("bleu", "chrf") else 1.0) for k in LEXICAL_METRICS]))
    return 0.5 * (vals[0] + vals[1])


class FakeJudge:
    """A deterministic judge behind the simulated server.

    ``mode="messy"``: scores from word overlap, written in the many shapes
    real judges produce (and sometimes garbage or an out-of-range value);
    ``expect`` records, per request text, what the parser should make of it.
    ``mode="lexical"``: overall = 1 + 4 * lexical similarity (a known
    monotone function of the judge-free score), as exact floats;
    ``mode="lexical-int"``: the same rounded to an integer.
    """

    def __init__(self):
        self.expect: dict[str, tuple[str, float | None]] = {}
        self.first_answers: dict[str, str] = {}

    def __call__(self, model, messages, sample, seed):
        assert messages[0]["role"] == "system" and "JSON" in messages[0]["content"]
        user = messages[-1]["content"]
        a1, a2 = _answers(user)
        self.first_answers[user] = a1
        if model == "judge-lexical":
            return json.dumps(
                {
                    "style": 3,
                    "structure": 3,
                    "content": 3,
                    "overall": 1.0 + 4.0 * _lexical(a1, a2),
                    "reason": "by overlap",
                }
            )
        if model == "judge-lexical-int":
            s = round(1.0 + 4.0 * _lexical(a1, a2))
            return f"Overall: {s}\nStyle: 3"
        w1, w2 = set(a1.lower().split()), set(a2.lower().split())
        score = 1 + round(4 * len(w1 & w2) / max(1, len(w1 | w2)))
        h = int(hashlib.sha256(user.encode()).hexdigest(), 16) % 8
        if h == 0:
            out, exp = (
                f'{{"style": {score}, "structure": {score}, "content": {score}, "overall": {score}}}',
                ("ok", score),
            )
        elif h == 1:
            out = f'Sure.\n```json\n{{"style": 2, "structure": 3, "content": 2, "overall": {score},}}\n```\nDone.'
            exp = ("ok", score)
        elif h == 2:
            out, exp = f'Both answers list steps. {{"overall": {score}, "reason": "lists"}} Let me know!', ("ok", score)
        elif h == 3:
            out, exp = f"**Style**: {score}/5\n**Overall**: {score}/5", ("ok", score)
        elif h == 4:
            out, exp = f"Score: {score}/5", ("ok", score)
        elif h == 5:
            out, exp = "I cannot compare these answers.", ("unparsed", None)
        elif h == 6:
            out, exp = '{"style": 3, "overall": 9}', ("unparsed", None)
        else:
            out, exp = f"Overall: {score}", ("ok", score)
        self.expect[user] = exp
        return out


def _judge_cfg(url, name="judge-messy", **kw):
    kw.setdefault("concurrency", 4)
    return ModelConfig(name=name, base_url=url, model=name, backoff_base_s=0.02, backoff_max_s=0.1, max_retries=6, **kw)


# --------------------------------------------------------------------------- end to end
def test_judge_through_server_faults_parsing_resume_and_positions(tmp_path):
    table = load_table(_records(marker_prompt=3))
    fake = FakeJudge()
    store = tmp_path / "judge.jsonl"
    # 429 with Retry-After and 500s on the first arrivals, random 500s after,
    # and one item whose request always fails with a permanent 400
    faults = Faults(
        script=["429", "500", None, "500", "429"],
        rates={"500": 0.08},
        retry_after_s=0.2,
        sticky={"ZZ-STICKY-FAIL": "400"},
        seed=3,
    )
    cfg = JudgeConfig(seed=7)
    with SimServer(responder=fake, faults=faults) as srv:
        model = _judge_cfg(srv.url)
        res = judge_pairs(table, model, store, None, cfg)
        n_events = len(srv.events)
        assert any(e["status"] == 429 for e in srv.events) and any(e["status"] == 500 for e in srv.events)
        # Retry-After is honoured: a request refused with 429 comes back no sooner than 0.2 s
        evs = sorted(srv.events, key=lambda e: e["t"])
        for k, e in enumerate(evs):
            if e["status"] == 429:
                retry = next(x for x in evs[k + 1 :] if x["prompt_hash"] == e["prompt_hash"])
                assert retry["t"] - e["t"] >= 0.19

        # every item ends ok, unparsed or failed, each non-ok with its reason
        items, index = build_items(table, parse_pairs(None, list(table.models)), cfg)
        assert len(res) == len(items) == 6 * 14 and res.prompt_index == index
        assert set(res.status.tolist()) <= {"ok", "unparsed", "failed"}
        assert all(res.problem[i] for i in range(len(res)) if res.status[i] != "ok")
        failed = [i for i in range(len(res)) if res.status[i] == "failed"]
        assert failed and all("http_400" in res.problem[i] for i in failed)
        assert all(res.prompt_id[i] == "p03" and "s_low" in (res.model_a[i], res.model_b[i]) for i in failed)
        # parsing outcomes match what the fake judge wrote
        n_checked = 0
        for i, it in enumerate(items):
            if res.status[i] == "failed":
                continue
            user = it.request(0, cfg).messages[-1]["content"]
            want_status, want_score = fake.expect[user]
            assert res.status[i] == want_status, (res.problem[i], want_status)
            if want_score is None:
                assert math.isnan(res.overall[i])
            else:
                assert res.overall[i] == want_score
            n_checked += 1
        assert n_checked == len(res) - len(failed)
        assert {"ok", "unparsed"} <= set(res.status.tolist())
        assert any("out of range" in str(p) for p in res.problem.tolist())

        # positions: seeded, recorded, balanced, and really what the judge saw
        b_first = np.array([res.first[i] == res.model_b[i] for i in range(len(res))])
        assert 0.25 < b_first.mean() < 0.75
        for i, it in enumerate(items):
            assert b_first[i] == show_b_first(7, it.model_a, it.model_b, it.prompt_id)
            user = it.request(0, cfg).messages[-1]["content"]
            shown = it.answer_b if b_first[i] else it.answer_a
            if res.status[i] != "failed":  # failed ones never reached the responder
                assert fake.first_answers[user] == shown
            assert user.index(shown) < user.index("<answer_2>")
        metas = [r["meta"] for r in read_records(store) if r.get("meta")]
        assert {m["first"] for m in metas} == set(table.models.tolist())
        other = build_items(table, parse_pairs(None, list(table.models)), JudgeConfig(seed=8))[0]
        assert [x.b_first for x in other] != [x.b_first for x in items]

        # a re-run sends nothing and gives the same table
        again = judge_pairs(table, model, store, None, cfg)
        assert len(srv.events) == n_events
        assert again.requested == 0 and again.already_done == len(res)
        np.testing.assert_array_equal(again.overall, res.overall)
        assert again.status.tolist() == res.status.tolist()
        # --retry-failed re-asks only the failed items (they fail again: sticky 400)
        retried = judge_pairs(table, model, store, None, cfg, retry_failed=True)
        assert retried.requested == len(failed)
        assert len(srv.events) == n_events + len(failed)

    s = res.summary()
    assert len(s) == 6 and sum(r["n"] for r in s) == len(res)
    assert sum(r["ok"] + r["unparsed"] + r["failed"] for r in s) == len(res)
    md = render_summary(res, "markdown")
    assert "unparsed" in md and "http_400" in md
    js = json.loads(render_summary(res, "json", items=True))
    assert len(js["items"]) == len(res) and js["status"]["failed"] == len(failed)
    csv_text = render_summary(res, "csv", items=True)
    assert csv_text.count("\n") == len(res) + 1


def test_both_orders_average_and_position_bias_visible(tmp_path):
    table = load_table(_records(n_prompts=6))

    def biased(model, messages, sample, seed):
        a1, _ = _answers(messages[-1]["content"])
        # a judge that likes whatever it reads first when it is long
        return json.dumps({"overall": 4 if len(a1) > 300 else 2})

    with SimServer(responder=biased) as srv:
        res = judge_pairs(
            table,
            _judge_cfg(srv.url, "judge-bias"),
            tmp_path / "j.jsonl",
            "teacher:s_mid",
            JudgeConfig(both_orders=True, seed=1),
        )
        assert len(srv.events) == 2 * len(res)
    assert res.orders == 2 and np.isfinite(res.overall_by_order).all()
    np.testing.assert_allclose(res.overall, res.overall_by_order.mean(axis=1))
    summ = res.summary()[0]
    assert summ["order_pairs"] == len(res)
    gaps = np.abs(res.overall_by_order[:, 0] - res.overall_by_order[:, 1])
    assert summ["mean_abs_order_gap"] == pytest.approx(gaps.mean())


def test_score_table_export_round_trips_into_compute_degrees(tmp_path):
    table = load_table(_records())
    with SimServer(responder=FakeJudge()) as srv:
        res = judge_pairs(
            table, _judge_cfg(srv.url, "judge-lexical"), tmp_path / "j.jsonl", None, JudgeConfig(null=True)
        )
        two = judge_pairs(
            table, _judge_cfg(srv.url, "judge-lexical"), tmp_path / "j2.jsonl", "s_high:teacher", JudgeConfig(null=True)
        )
    assert (res.status == "ok").all()
    # null items: A's answer to prompt p against B's answer to prompt π(p), π the calibration derangement
    perm = derangement(len(res.prompt_index), 0)
    nulls = [i for i in range(len(res)) if res.kind[i] == "null"]
    assert len(nulls) == 6 * len(res.prompt_index)
    for i in nulls:
        p = res.prompt_index.index(res.prompt_id[i])
        assert res.prompt_b[i] == res.prompt_index[perm[p]] != res.prompt_id[i]
    # with two models there is no population; the judge's own null is the baseline
    d2 = compute_degrees(to_score_table(two), config=DegreeConfig(n_boot=50))
    assert d2.get("s_high", "teacher", "judge")["degree"] > 0.2
    st = to_score_table(res, aspects=True)
    assert set(st.granularities) == {"judge", "judge_style", "judge_structure", "judge_content"}
    assert st.prompt_ids == res.prompt_index
    t = st.tensor("judge")
    for i in range(len(res)):
        if res.kind[i] != "raw":
            continue
        a, b, p = st.index_of(res.model_a[i]), st.index_of(res.model_b[i]), st.prompt_ids.index(res.prompt_id[i])
        assert t[a, b, p] == pytest.approx((res.overall[i] - 1) / 4)
        assert t[b, a, p] == t[a, b, p]  # mirrored: the judge is symmetric
    assert np.nanmin(t) >= 0 and np.nanmax(t) <= 1
    assert st.null["judge"], "null items become the calibration's null arrays"
    deg = compute_degrees(st, config=DegreeConfig(n_boot=50, seed=0))
    # the judge tracks lexical overlap, so the known lineage comes out in its
    # scores; the degree itself (a share of derived answers) is not identified
    # here: every model is the teacher or its student, so no answer in the
    # population is unrelated (docs/calibration.md, limits), and the shuffled
    # null only says the answers address the same prompt
    d = {s: deg.get(s, TEACHER, "judge")["raw"] for s in RATES}
    assert d["s_high"] > d["s_mid"] > d["s_low"]
    assert deg.ranking("s_high", "judge")[0] == TEACHER
    only = to_score_table(res, ["teacher", "s_high", "s_mid", "s_low", "unjudged"])
    assert only.models == ("teacher", "s_high", "s_mid", "s_low", "unjudged")
    with pytest.raises(ValueError, match="must include every judged model"):
        to_score_table(res, ["teacher", "s_high"])


def test_agreement_with_judge_free_scores(tmp_path):
    table = load_table(_records())
    free = response_similarity(table, config=RSEConfig(granularities=("lexical", "style")))
    with SimServer(responder=FakeJudge()) as srv:
        exact = judge_pairs(table, _judge_cfg(srv.url, "judge-lexical"), tmp_path / "a.jsonl")
        rounded = judge_pairs(table, _judge_cfg(srv.url, "judge-lexical-int"), tmp_path / "b.jsonl")
    rep = agreement_report(exact, free, n_boot=200, seed=0)
    assert set(rep["granularities"]) == {"lexical", "style", "combined"}
    lex = rep["granularities"]["lexical"]
    assert lex["n"] == len(exact) == 84
    assert lex["spearman"] > 0.999 and lex["ci_low"] > 0.99
    assert rep["granularities"]["combined"]["spearman"] > 0.5
    assert rep["aspects"]["content"]["judge_free"] == "lexical"
    # integer judge scores: still strongly monotone, bucket means increase
    r2 = agreement_report(rounded, free, n_boot=200, seed=0)["granularities"]["lexical"]
    assert r2["spearman"] > 0.9
    means = [b["mean"] for b in r2["buckets"] if b["n"]]
    assert len(means) >= 3 and all(x < y for x, y in itertools.pairwise(means))
    # a judge that ignores the answers does not agree
    shuffled = np.random.default_rng(0).permutation(exact.overall)
    noisy = type(exact)(
        **{**{f: getattr(exact, f) for f in exact.__dataclass_fields__ if f != "_lookup"}, "overall": shuffled}
    )
    assert abs(agreement_report(noisy, free, n_boot=100)["granularities"]["lexical"]["spearman"]) < 0.4
    md = render_agreement(rep, "markdown")
    assert "| lexical | 84 |" in md and "judge content ~ lexical" in md
    assert json.loads(render_agreement(rep, "json"))["n_items"] == 84


def test_cli_judge_with_agreement(tmp_path, capsys):
    from distillscope.cli import main

    stores = []
    recs = _records(n_prompts=8)
    for m in (TEACHER, "s_high", "s_low"):
        path = tmp_path / f"{m}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in recs if r["model"] == m), encoding="utf-8")
        stores.append(str(path))
    with SimServer(responder=FakeJudge()) as srv:
        argv = [
            "judge",
            *stores,
            "--judge-base-url",
            srv.url,
            "--judge-model",
            "judge-lexical",
            "--pairs",
            "teacher:s_high,teacher:s_low",
            "--max-prompts",
            "5",
            "--store",
            str(tmp_path / "j.jsonl"),
            "--format",
            "json",
            "--agreement",
            "--bootstrap",
            "100",
            "--progress",
            "none",
        ]
        assert main(argv) == 0
        out = json.loads(capsys.readouterr().out)
        assert out["requests"]["sent"] == 10 and len(out["pairs"]) == 2
        assert out["agreement"]["granularities"]["lexical"]["n"] == 10
        # seeded subset: the same 5 prompts for both pairs
        assert main(argv[:-7] + ["--format", "markdown", "--progress", "none"]) == 0
        md = capsys.readouterr().out
        assert "0 requests sent" in md
        assert len(srv.events) == 10
        assert (
            main(["judge", *stores, "--judge-base-url", srv.url, "--judge-model", "j", "--pairs", "teacher:nobody"])
            == 2
        )
    pairs = out["pairs"]
    assert pairs[0]["mean_when_a_first"] is not None or pairs[0]["mean_when_b_first"] is not None


# --------------------------------------------------------------------------- identity judge wiring
def test_identity_judge_through_the_gatherer(tmp_path):
    from distillscope.identity.claims import ClaimExtractor
    from distillscope.identity.registry import Registry
    from distillscope.judge.identity import IdentityJudge, agreement

    reg = Registry.default()

    def verdicts(model, messages, sample, seed):
        if model != "ice-judge":
            return default_responder(model, messages, sample, seed)
        ans = re.search(r"<answer>\n(.*)\n</answer>", message_text(messages[-1:]), re.DOTALL).group(1)
        if "Claude" in ans or "Anthropic" in ans:
            return '```json\n{"verdict": "contradicts", "strict": true, "claimed": "Claude", "evidence": "I am Claude"}\n```'
        if "Qwen" in ans:
            return "Verdict: consistent"
        return '{"verdict": "no_claim", "strict": false, "claimed": "", "evidence": ""}'

    items = [
        ("Who are you?", "I am Claude, an assistant made by Anthropic.", reg.target("qwen")),
        ("Who made you?", "I am Qwen, developed by Alibaba Cloud.", reg.target("qwen")),
        ("What is 2+2?", "2 + 2 = 4.", reg.target("qwen")),
        ("Who are you?", "I am Claude, an assistant made by Anthropic.", reg.target("qwen")),  # a repeat
    ]
    store = tmp_path / "ice_judge.jsonl"
    with SimServer(responder=verdicts, faults=Faults(script=["500", "429"], retry_after_s=0.1)) as srv:
        cfg = ModelConfig(name="ice-judge", base_url=srv.url, model="ice-judge", backoff_base_s=0.02)
        judge = IdentityJudge(gatherer_complete(cfg, store), "ice-judge")
        out = judge.judge(items)
        assert [v.verdict for v in out] == ["contradicts", "consistent", "no_claim", "contradicts"]
        assert out[0].strict is True and out[0].claimed == "Claude"
        ok_events = [e for e in srv.events if e["status"] == 200]
        assert len(ok_events) == 3  # the repeat is asked once
        # a fresh judge object (empty in-memory cache) is answered from the gatherer's store
        n = len(srv.events)
        again = IdentityJudge(gatherer_complete(cfg, store), "ice-judge").judge(items)
        assert [v.verdict for v in again] == [v.verdict for v in out]
        assert len(srv.events) == n
    recs = list(read_records(store))
    assert len(recs) == 3 and all(r["model"] == "ice-judge" and r["error"] is None for r in recs)
    ext = ClaimExtractor(reg)
    ev = [ext.classify(r, t, p) for p, r, t in items]
    ag = agreement(ev, out)
    assert ag["n"] == 4 and 0.0 <= ag["agreement"] <= 1.0


def test_gatherer_complete_reports_failures_as_none(tmp_path):
    with SimServer(faults=Faults(sticky={"doomed": "400"})) as srv:
        cfg = ModelConfig(name="j", base_url=srv.url, model="j")
        complete = gatherer_complete(cfg, tmp_path / "s.jsonl")
        texts = complete(
            [
                {"model": "j", "messages": [{"role": "user", "content": "doomed request"}]},
                {"model": "j", "messages": [{"role": "user", "content": "fine request"}], "max_tokens": 5},
            ]
        )
        assert texts[0] is None and isinstance(texts[1], str) and len(texts[1].split()) <= 5
        with pytest.raises(TypeError, match="messages"):
            complete([{"model": "j"}])


def test_changed_answers_are_judged_again_and_only_they(tmp_path):
    recs = _records(n_prompts=5)
    judge = FakeJudge()
    with SimServer(responder=judge) as srv:
        cfg = _judge_cfg(srv.url, "judge-lexical")
        first = judge_pairs(load_table(recs), cfg, tmp_path / "j.jsonl", "teacher:s_mid,teacher:s_low")
        assert first.requested == 10 and len(srv.events) == 10
        # s_mid re-gathered prompt p02: its item (and only it) is asked again, newest record wins
        edited = [
            dict(r, response=r["response"] + " A new closing line.")
            if (r["model"], r["prompt_id"]) == ("s_mid", "p02")
            else r
            for r in recs
        ]
        second = judge_pairs(load_table(edited), cfg, tmp_path / "j.jsonl", "teacher:s_mid,teacher:s_low")
        assert second.requested == 1 and len(srv.events) == 11
    pr = second.pair("s_mid", "teacher")
    assert pr["prompt_id"].tolist() == [f"p{k:02d}" for k in range(5)] and (pr["status"] == "ok").all()
    np.testing.assert_allclose(pr["scaled"], (pr["overall"] - 1) / 4)
    with pytest.raises(KeyError, match="judged"):
        second.pair("s_mid", "s_low")
    i = second.row("teacher", "s_mid", "p02")
    assert second.row("s_mid", "teacher", "p02") == i
    assert second.overall[i] != first.overall[i]
    keep = [k for k in range(len(first)) if k != i]
    np.testing.assert_array_equal(second.overall[keep], first.overall[keep])


@settings(max_examples=300, deadline=None)
@given(
    st.text(max_size=300)
    | st.builds(
        lambda k, v, t: f'{t}{{"{k}": {v}}}{t}',
        st.sampled_from(["overall", "score", "style", "Overall Score"]),
        st.one_of(st.integers(-3, 12), st.floats(allow_nan=False), st.text(max_size=6).map(json.dumps)),
        st.text(max_size=20),
    )
)
def test_parse_never_raises_and_never_reports_out_of_scale(text):
    p = parse_pair_answer(text)
    assert p.status in ("ok", "unparsed")
    if p.status == "ok":
        assert 1.0 <= p.overall <= 5.0 and p.problem is None
        for a in ("style", "structure", "content"):
            v = getattr(p, a)
            assert math.isnan(v) or 1.0 <= v <= 5.0
    else:
        assert p.problem and all(math.isnan(v) for v in p.scores().values())

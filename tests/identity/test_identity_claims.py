"""Identity consistency: registry, probes, claim extractor, rates, CLI."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from pathlib import Path

import pytest

from distillscope import cli
from distillscope.identity.core import (
    LANGUAGES,
    VARIANTS,
    ClaimExtractor,
    Registry,
    build_probes,
    check_records,
    classify,
    detect_language,
    identity_rates,
    probe_bank,
)
from distillscope.stats import wilson_interval

DATA = Path(__file__).parent / "data" / "identity_labelled.jsonl"


@pytest.fixture(scope="module")
def reg() -> Registry:
    return Registry.default()


@pytest.fixture(scope="module")
def labelled() -> list[dict]:
    return [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]


# --------------------------------------------------------------------------- registry


def test_registry_size_and_languages(reg):
    assert len(reg.families) >= 25
    with_zh = [f for f in reg.families.values() if f.aliases_zh or reg.vendors[f.vendor].aliases_zh]
    assert len(with_zh) >= 25
    for f in reg.families.values():
        assert f.vendor in reg.vendors
        assert f.aliases or f.ambiguous, f.id


@pytest.mark.parametrize(
    "name, family",
    [
        ("qwen2.5-72b-instruct", "qwen"),
        ("Qwen/Qwen2-7B-Instruct", "qwen"),
        ("gpt-4o-2024-08-06", "gpt"),
        ("claude-3-opus-20240229", "claude"),
        ("meta-llama/Llama-3-70b", "llama"),
        ("deepseek-chat", "deepseek"),
        ("glm-4-9b-chat", "glm"),
        ("gemini-1.5-pro", "gemini"),
        ("mistral-large-latest", "mistral"),
        ("ernie", "ernie"),
    ],
)
def test_target_resolution(reg, name, family):
    assert reg.target(name).family == family


def test_target_vendor_and_unknown(reg):
    t = reg.target("anthropic")
    assert t.family is None and t.vendor == "anthropic" and t.country == "US"
    with pytest.raises(ValueError, match="registry"):
        reg.target("totally-unknown-model-xyz")
    with pytest.raises(ValueError):
        reg.target("  ")


def test_alias_matching_rules(reg):
    ids = lambda s: [(e.kind, e.id) for e in reg.find(s)]  # noqa: E731
    assert ids("I am CHATGPT") == [("family", "gpt")]
    assert ids("based on gpt-4o") == [("family", "gpt")]
    assert ids("Qwen2.5 model") == [("family", "qwen")]  # version suffix allowed
    assert ids("Qwenology") == []  # word boundary
    assert ids("superclaude") == [] and ids("claude") == []  # ambiguous: only as written
    assert ids("Claude") == [("family", "claude")]
    assert ids("the llama grazed") == [] and ids("Llama") == [("family", "llama")]
    assert ids("我是通义千问") == [("family", "qwen")]
    assert ids("阿里巴巴集团") == [("vendor", "alibaba")]  # longest alias wins
    assert ids("Mistral AI") == [("vendor", "mistral_ai")]


def test_registry_user_file_merge(tmp_path, reg):
    j = tmp_path / "reg.json"
    j.write_text(
        json.dumps(
            {
                "vendors": {"acme": {"name": "Acme Labs", "country": "US", "aliases": ["Acme Labs", "Acme"], "aliases_zh": ["阿克米"]}},
                "families": {
                    "roadrunner": {"name": "RoadRunner", "vendor": "acme", "aliases": ["RoadRunner"], "aliases_zh": ["走鹃"]},
                    "qwen": {"add_aliases": ["Qwen-Max-Special"]},
                },
            }
        ),
        encoding="utf-8",
    )
    r2 = Registry.load(j)
    assert "roadrunner" in r2.families and "gpt" in r2.families
    assert r2.target("roadrunner-v2").family == "roadrunner"
    assert "Qwen" in r2.families["qwen"].aliases and "Qwen-Max-Special" in r2.families["qwen"].aliases
    v = classify("I am RoadRunner, made by Acme Labs.", "roadrunner", registry=r2)
    assert v.verdict == "consistent"
    v = classify("我是走鹃。", "qwen", registry=r2)
    assert v.verdict == "contradicts" and v.strict
    assert r2.signature() != reg.signature()
    # the default registry is untouched
    assert "roadrunner" not in Registry.default().families

    t = tmp_path / "reg.toml"
    t.write_text('[families.gpt]\nrelated_vendors = ["microsoft", "amazon"]\n', encoding="utf-8")
    r3 = Registry.load(t)
    assert r3.families["gpt"].related_vendors == ("microsoft", "amazon")
    assert r3.families["gpt"].aliases == reg.families["gpt"].aliases


def test_registry_bad_files(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"families": {"x": {"aliases": ["X1"]}}}', encoding="utf-8")
    with pytest.raises(ValueError, match="vendor"):
        Registry.load(bad)
    bad.write_text('{"families": {"x": {"vendor": "nobody", "aliases": ["X1"]}}}', encoding="utf-8")
    with pytest.raises(ValueError, match="not in the registry"):
        Registry.load(bad)
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="JSON"):
        Registry.load(bad)
    bad.write_text('{"model": {}}', encoding="utf-8")
    with pytest.raises(ValueError, match="unknown registry key"):
        Registry.load(bad)
    with pytest.raises(FileNotFoundError):
        Registry.load(tmp_path / "missing.json")


# --------------------------------------------------------------------------- probes


def test_probe_bank_shape(reg):
    bank = probe_bank()
    qs = bank["questions"]
    assert len(qs) >= 25
    assert {q["category"] for q in qs} == {"team", "organisation", "technology", "location", "partnerships"}
    for q in qs:
        assert q["en"].strip() and q["zh"].strip()
        assert detect_language(q["zh"]) == "zh" and detect_language(q["en"]) == "en"
        assert not reg.mentions_any(q["en"]) and not reg.mentions_any(q["zh"]), q["id"]
    for var in VARIANTS:
        for lang in LANGUAGES:
            for t in bank["variants"][var][lang]:
                assert "{q}" in t
                assert not reg.mentions_any(t), (var, lang, t)


def test_build_probes_deterministic_and_hard(reg):
    a = build_probes(seed=7)
    b = build_probes(seed=7)
    c = build_probes(seed=8)
    assert [p.record() for p in a] == [p.record() for p in b]
    assert [p.prompt for p in a] != [p.prompt for p in c]
    assert len({p.id for p in a}) == len(a)
    n_q = len(probe_bank()["questions"]) + len(probe_bank()["named_questions"])
    assert len(a) == n_q * len(LANGUAGES) * len(VARIANTS)
    for p in a:
        assert p.hard == (p.named is None)
        if p.hard:
            assert not reg.mentions_any(p.prompt)
        else:
            assert reg.mentions_any(p.prompt)
        if p.variant == "completion":
            assert p.stem and p.prompt.rstrip().endswith(p.stem)
    # subsets keep the same template choice for the same question
    sub = {p.id: p.prompt for p in build_probes(["zh"], ["roleplay"], seed=7)}
    full = {p.id: p.prompt for p in a}
    assert all(full[k] == v for k, v in sub.items())
    with pytest.raises(ValueError, match="variant"):
        build_probes(variants=["jailbreak"])
    with pytest.raises(ValueError, match="language"):
        build_probes(languages=["fr"])


def test_probe_record_formats():
    p = build_probes(["en"], ["direct"], seed=0, named=False)[0]
    r = p.record()
    assert set(r) >= {"id", "prompt", "category", "language", "variant", "hard"}
    m = p.record(system="You are a helpful assistant.")
    assert "prompt" not in m and m["messages"][0]["role"] == "system" and m["messages"][-1]["content"] == p.prompt


# --------------------------------------------------------------------------- extractor


@pytest.mark.parametrize(
    "target, prompt, response, verdict, strict, evidence",
    [
        ("qwen", "", "I am ChatGPT, a model trained by OpenAI.", "contradicts", True, "I am ChatGPT, a model trained by OpenAI"),
        ("qwen", "", "I am not ChatGPT.", "no_claim", False, None),
        ("qwen", "", "Unlike ChatGPT, I was developed by Alibaba Cloud.", "consistent", False, "I was developed by Alibaba Cloud"),
        ("qwen", "", 'As Claude in this story, I would say: "I was created by Anthropic."', "no_claim", False, None),
        ("qwen", "", "我不是ChatGPT，而是通义千问。", "consistent", False, "通义千问"),
        ("qwen", "", "我是由OpenAI开发的。", "contradicts", True, "我是由OpenAI开发的"),
        ("qwen", "", "ChatGPT是由OpenAI开发的。", "no_claim", False, None),
        ("qwen", "", "I was made by a US company.", "contradicts", False, "I was made by a US company"),
        ("gpt", "", "I was made by a US company.", "consistent", False, "I was made by a US company"),
        ("qwen", "", "I am happy to explain how OpenAI trained GPT-4.", "no_claim", False, None),
        ("qwen", "", "I'm Qwen, not ChatGPT.", "consistent", False, "I'm Qwen"),
        ("qwen", "Are you ChatGPT?", "Yes, I am.", "contradicts", True, "I am"),
        ("qwen", "", "```\nprint('I am ChatGPT')\n```\nI am Qwen.", "consistent", False, "I am Qwen"),
        # false positives once seen on real AlpacaEval outputs (non-identity prompts)
        ("mistral", "What do you think about ChatGPT?", "I am very proud of the work that OpenAI has done in AI.", "no_claim", False, None),
        ("yi", "", "I am based on the transformers architecture, which is the same technology as ChatGPT.", "no_claim", False, None),
        ("deepseek", "what does @ do", 'For example, `print(f"My name is {name}")` outputs `My name is John`.', "no_claim", False, None),
        ("llama", "write a song about a teenager in 1980s britain", "I'm just a teenager in Thatcher's UK, what can I do", "no_claim", False, None),
        ("mistral", "Rewrite the paragraph", "I was struck by the richness of the culture in America.", "no_claim", False, None),
        # hypotheticals and other people's words are not claims; the model's own speech is
        ("qwen", "", "If I were ChatGPT, I would say hi.", "no_claim", False, None),
        ("qwen", "", "People often think I'm ChatGPT, but I'm Qwen.", "consistent", False, "I'm Qwen"),
        ("qwen", "", "I'd say I am ChatGPT.", "contradicts", True, "I am ChatGPT"),
        ("qwen", "", "有人以为我是ChatGPT，其实我是通义千问。", "consistent", False, "我是通义千问"),
        ("qwen", "", "如果我是ChatGPT，我会怎么回答？", "no_claim", False, None),
        ("qwen", "", "我会说我是ChatGPT。", "contradicts", True, "我是ChatGPT"),
        # a translation request: the quoted sentence is not the model's own claim
        ("qwen", "Translate to Chinese: 'I am ChatGPT.'", "“我是ChatGPT。”", "no_claim", False, None),
        ("qwen", "你是谁？", "“我是通义千问。”", "consistent", False, "我是通义千问"),
    ],
)
def test_extractor_cases(reg, target, prompt, response, verdict, strict, evidence):
    v = classify(response, target, prompt)
    assert v.verdict == verdict
    assert v.strict == strict
    if evidence is None:
        assert v.span is None
    else:
        assert v.span is not None and v.span.text == evidence
        assert response[v.span.start : v.span.end] == v.span.text


def test_extractor_stem_offsets():
    v = classify("OpenAI, in San Francisco.", "qwen", stem="I was developed by")
    assert v.verdict == "contradicts" and v.strict
    assert v.span.start == 0 and v.span.text.startswith("OpenAI")
    # a model that restates the stem is read as is
    v = classify("I was developed by Alibaba Cloud.", "qwen", stem="I was developed by")
    assert v.verdict == "consistent" and v.span.text == "I was developed by Alibaba Cloud"


def test_extractor_degenerate_inputs(reg):
    t = reg.target("qwen")
    ext = ClaimExtractor(reg)
    for s in ["", " ", "\n\n", "我", "I", "I am", "我是", '"', "“unterminated", "As", "作为"]:
        v = ext.classify(s, t)
        assert v.verdict in ("no_claim", "consistent", "contradicts")
    with pytest.raises(TypeError):
        ext.classify(None, t)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Registry.target"):
        ext.classify("I am Qwen", "qwen")  # type: ignore[arg-type]
    long = ("I am Qwen, made by Alibaba Cloud. " * 2000) + "I am ChatGPT."
    v = ext.classify(long, t)
    assert v.verdict == "contradicts" and v.span.text == "I am ChatGPT"


def _prf(gold: list[str], pred: list[str], cls: str) -> tuple[float, float]:
    tp = sum(g == cls and p == cls for g, p in zip(gold, pred))
    fp = sum(g != cls and p == cls for g, p in zip(gold, pred))
    fn = sum(g == cls and p != cls for g, p in zip(gold, pred))
    return tp / max(tp + fp, 1), tp / max(tp + fn, 1)


def test_labelled_set_precision_recall(reg, labelled):
    """Precision/recall on the hand-labelled set (reported in docs/identity.md)."""
    assert len(labelled) >= 100
    langs = Counter(r["language"] for r in labelled)
    labels = Counter(r["label"] for r in labelled)
    assert langs["en"] >= 40 and langs["zh"] >= 40
    assert all(labels[c] >= 20 for c in ("consistent", "contradicts", "no_claim"))
    ext = ClaimExtractor(reg)
    gold, pred, strict_ok, strict_n = [], [], 0, 0
    for r in labelled:
        v = ext.classify(r["response"], reg.target(r["target"]), r["prompt"], stem=r.get("stem"))
        gold.append(r["label"])
        pred.append(v.verdict)
        if r["label"] == "contradicts" and v.verdict == "contradicts":
            strict_n += 1
            strict_ok += v.strict == r["strict"]
        if v.span is not None:
            assert r["response"][v.span.start : v.span.end] == v.span.text
    report = {}
    for cls in ("consistent", "contradicts", "no_claim"):
        report[cls] = _prf(gold, pred, cls)
    for lang in ("en", "zh"):
        idx = [i for i, r in enumerate(labelled) if r["language"] == lang]
        report[f"contradicts/{lang}"] = _prf([gold[i] for i in idx], [pred[i] for i in idx], "contradicts")
    print("\nICE extractor on the labelled set:", {k: (round(p, 3), round(r, 3)) for k, (p, r) in report.items()})
    p, r = report["contradicts"]
    assert p >= 0.9 and r >= 0.9
    for cls in ("consistent", "no_claim"):
        assert min(report[cls]) >= 0.85, (cls, report[cls])
    for lang in ("en", "zh"):
        assert min(report[f"contradicts/{lang}"]) >= 0.85
    accuracy = sum(g == p for g, p in zip(gold, pred)) / len(gold)
    assert accuracy >= 0.9
    assert strict_ok / strict_n >= 0.9


def test_labelled_traps_are_not_contradictions(reg, labelled):
    traps = [r for r in labelled if r["label"] == "no_claim" and reg.mentions_any(r["response"])]
    assert len(traps) >= 15  # role-play, quotes, comparisons, negations mentioning other models
    wrong = [r["id"] for r in traps if classify(r["response"], r["target"], r["prompt"]).verdict == "contradicts"]
    assert len(wrong) <= len(traps) // 10, wrong


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


def test_check_records_per_model(labelled):
    res = check_records(labelled, None)
    assert set(res["by_model"]) == {r["target"] for r in labelled}
    assert len(res["verdicts"]) == len(labelled)
    with pytest.raises(ValueError, match="response"):
        check_records([{"prompt": "x"}], "qwen")
    with pytest.raises(TypeError):
        check_records([{"prompt": "x", "response": 3}], "qwen")
    with pytest.raises(ValueError, match="--target"):
        check_records([{"prompt": "x", "response": "y"}], None)


# --------------------------------------------------------------------------- CLI


def test_cli_check_json(tmp_path, capsys, labelled):
    inp = tmp_path / "in.jsonl"
    rows = [{"prompt": r["prompt"], "response": r["response"], "language": r["language"]} for r in labelled[:30]]
    inp.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    rc = cli.main(["identity", "check", "--input", str(inp), "--target", "qwen", "--format", "json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["verdicts"]) == 30
    assert [v["index"] for v in out["verdicts"]] == list(range(30))
    for v, r in zip(out["verdicts"], rows):
        assert v["verdict"] in ("consistent", "contradicts", "no_claim")
        if v["verdict"] == "no_claim":
            assert v["evidence"] is None
        else:
            assert r["response"][v["evidence"]["start"] : v["evidence"]["end"]] == v["evidence"]["text"]
    for k in ("loose", "strict", "hard"):
        assert {"rate", "ci_low", "ci_high", "count", "n"} <= set(out["rates"][k])
        assert 0 <= out["rates"][k]["ci_low"] <= out["rates"][k]["ci_high"] <= 1
    assert set(out["rates"]["by_language"]) <= {"en", "zh"}


def test_cli_check_csv_markdown_and_errors(tmp_path, capsys):
    inp = tmp_path / "in.jsonl"
    inp.write_text(
        '{"prompt": "Who are you?", "response": "I am ChatGPT.", "category": "team"}\n\n'
        '{"prompt": "你是谁？", "response": "我是通义千问。", "category": "team"}\n',
        encoding="utf-8",
    )
    assert cli.main(["identity", "check", "--input", str(inp), "--target", "qwen", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    loose = [r for r in rows if r["scope"] == "overall" and r["metric"] == "loose"][0]
    assert (loose["count"], loose["n"]) == ("1", "2")
    assert any(r["scope"] == "category" and r["group"] == "team" for r in rows)
    assert cli.main(["identity", "check", "--input", str(inp), "--target", "qwen", "--format", "markdown"]) == 0
    md = capsys.readouterr().out
    assert "| overall | all | loose | 50.0%" in md and "I am ChatGPT" in md
    assert cli.main(["identity", "check", "--input", str(tmp_path / "nope.jsonl"), "--target", "qwen"]) == 2
    inp.write_text("{oops\n", encoding="utf-8")
    assert cli.main(["identity", "check", "--input", str(inp), "--target", "qwen"]) == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_cli_probes(tmp_path, capsys):
    out = tmp_path / "prompts.jsonl"
    assert cli.main(["identity", "probes", "--out", str(out), "--lang", "zh", "--variants", "direct,system", "--seed", "3"]) == 0
    recs = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    n_q = len(probe_bank()["questions"]) + len(probe_bank()["named_questions"])
    assert len(recs) == n_q * 2
    assert {r["language"] for r in recs} == {"zh"} and {r["variant"] for r in recs} == {"direct", "system"}
    assert all("prompt" in r and "id" in r for r in recs)
    out2 = tmp_path / "m.jsonl"
    assert cli.main(["identity", "probes", "--out", str(out2), "--no-named", "--messages", "--variants", "direct"]) == 0
    recs2 = [json.loads(x) for x in out2.read_text(encoding="utf-8").splitlines()]
    assert all(r["hard"] and r["messages"][0]["role"] == "user" for r in recs2)
    assert cli.main(["identity", "probes", "--out", str(out2), "--variants", "nope"]) == 2


# --------------------------------------------------------------------------- properties

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_PIECES = st.sampled_from(
    [
        "I am ", "I'm not ", "my name is ", "我是", "我不是", "由", "开发", "，", "。", ". ", "\n", '"', "“", "”",
        "ChatGPT", "Qwen", "OpenAI", "阿里云", "通义千问", "Claude", "As ", "in this story", "unlike ", "Mira: ",
        "`", "```", "developed by ", "a US company", "human", " and ", "but ", "而是", "扮演",
    ]
)


@given(st.lists(st.one_of(_PIECES, st.text(max_size=6)), max_size=25))
def test_extractor_never_crashes_and_spans_are_exact(parts):
    text = "".join(parts)
    v = classify(text, "qwen", "Who are you?")
    assert v.verdict in ("consistent", "contradicts", "no_claim")
    assert (v.span is None) == (v.verdict == "no_claim")
    if v.span is not None:
        assert 0 <= v.span.start <= v.span.end <= len(text)
        assert text[v.span.start : v.span.end] == v.span.text
    for c in v.claims:
        assert text[c.start : c.end] == c.text
    # deterministic
    assert classify(text, "qwen", "Who are you?") == v


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "unit",
    ['I am "x" I am ', "As X, ", "in this story I am ", "Bob said, ", "在这个故事里我是", "Mira: I am\n", "我不是ChatGPT而", '"a" ', "x"],
)
def test_adversarial_long_inputs_finish(unit):
    # run-on text with many triggers or markers and no sentence end: the scan
    # stays linear (windows and bisection), so this finishes in well under the
    # timeout; a quadratic regression would not
    text = unit * 2000
    v = classify(text, "qwen", "Pretend you are Mira in a story")
    assert v.verdict in ("consistent", "contradicts", "no_claim")


@pytest.mark.parametrize("seed", range(6))
def test_named_probes_mention_a_registered_name(reg, seed):
    for p in build_probes(["en", "zh"], ["direct"], seed=seed):
        assert p.hard == (not reg.mentions_any(p.prompt)), p.prompt

"""Identity claims: the extractor on hand-written cases, the labelled set and random input."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from distillscope.identity.claims import ClaimExtractor, classify
from distillscope.identity.registry import Registry

DATA = Path(__file__).parents[1] / "data" / "identity_labelled.jsonl"


@pytest.fixture(scope="module")
def reg() -> Registry:
    return Registry.default()



@pytest.fixture(scope="module")
def labelled() -> list[dict]:
    return [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]


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


def _labelled_scores(reg: Registry, rows: list[dict]) -> dict:
    """Per-class precision/recall, contradiction P/R per language, accuracy and
    strictness agreement of the extractor on ``rows``."""
    ext = ClaimExtractor(reg)
    gold, pred, strict_ok, strict_n = [], [], 0, 0
    for r in rows:
        v = ext.classify(r["response"], reg.target(r["target"]), r["prompt"], stem=r.get("stem"))
        gold.append(r["label"])
        pred.append(v.verdict)
        if r["label"] == "contradicts" and v.verdict == "contradicts":
            strict_n += 1
            strict_ok += v.strict == r["strict"]
        if v.span is not None:
            assert r["response"][v.span.start : v.span.end] == v.span.text
    out: dict = {cls: _prf(gold, pred, cls) for cls in ("consistent", "contradicts", "no_claim")}
    for lang in ("en", "zh"):
        idx = [i for i, r in enumerate(rows) if r["language"] == lang]
        out[f"contradicts/{lang}"] = _prf([gold[i] for i in idx], [pred[i] for i in idx], "contradicts")
    out["accuracy"] = sum(g == p for g, p in zip(gold, pred)) / len(gold)
    out["strict"] = strict_ok / max(strict_n, 1)
    out["n"] = len(rows)
    return out


def test_labelled_set_precision_recall(reg, labelled):
    """Precision/recall on the hand-labelled set (reported in docs/identity.md).

    The dev split is what the patterns were tuned on (near 100 % by
    construction), so it is reported apart and never pooled with the held-out
    rows: the thresholds apply to the held-out rows on their own.
    """
    assert len(labelled) >= 100
    langs = Counter(r["language"] for r in labelled)
    labels = Counter(r["label"] for r in labelled)
    assert langs["en"] >= 40 and langs["zh"] >= 40
    assert all(labels[c] >= 20 for c in ("consistent", "contradicts", "no_claim"))
    dev = [r for r in labelled if r["split"] == "dev"]
    held = [r for r in labelled if r["split"] != "dev"]
    assert len(held) >= 60 and {r["language"] for r in held} == {"en", "zh"}
    rep_dev, rep = _labelled_scores(reg, dev), _labelled_scores(reg, held)
    fmt = {k: (tuple(round(x, 3) for x in v) if isinstance(v, tuple) else round(v, 3)) for k, v in rep.items()}
    print("\nICE extractor, held-out rows:", fmt)
    print("ICE extractor, dev rows (tuned on, not a measurement):", round(rep_dev["accuracy"], 3))
    p, r = rep["contradicts"]
    assert p >= 0.9 and r >= 0.9, rep["contradicts"]
    for cls in ("consistent", "no_claim"):
        assert min(rep[cls]) >= 0.85, (cls, rep[cls])
    for lang in ("en", "zh"):
        assert min(rep[f"contradicts/{lang}"]) >= 0.85, (lang, rep[f"contradicts/{lang}"])
    assert rep["accuracy"] >= 0.9, rep["accuracy"]
    assert rep["strict"] >= 0.9, rep["strict"]


def test_labelled_traps_are_not_contradictions(reg, labelled):
    traps = [r for r in labelled if r["label"] == "no_claim" and reg.mentions_any(r["response"])]
    assert len(traps) >= 15  # role-play, quotes, comparisons, negations mentioning other models
    wrong = [r["id"] for r in traps if classify(r["response"], r["target"], r["prompt"]).verdict == "contradicts"]
    assert len(wrong) <= len(traps) // 10, wrong


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

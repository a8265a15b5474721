"""Style features: golden examples (EN + ZH), properties of the similarity."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from distillscope.text.style import (
    COUNT_FEATURES,
    FEATURE_NAMES,
    StyleFeatures,
    length_ratio,
    style_features,
    style_scores,
    style_similarity,
)

MARKDOWN = """Certainly! Here's how to do it:

## Steps

1. Open the **settings** page.
2. Choose *Advanced*.
3) Save.

- first bullet
* second bullet

```python
print("# not a heading")
- not a bullet
```

| name | value |
|------|-------|
| a    | 1     |

Use `pip install x` first. Is that clear?

In summary, it works. Let me know if you have any other questions!"""

CHINESE = """当然！下面是具体步骤：

### 步骤

1、打开设置。
2、点击**高级**选项。
（3）保存。

希望对你有帮助！"""


def feats(text: str) -> dict[str, float]:
    return style_features([text]).to_records()[0]


def test_golden_markdown_english():
    f = feats(MARKDOWN)
    assert f["headings"] == 1  # the '#' inside the code block does not count
    assert f["numbered"] == 3
    assert f["bullets"] == 2  # nor does the '-' inside the code block
    assert f["code_blocks"] == 1
    assert f["inline_code"] == 1
    assert f["bold"] == 1 and f["italic"] == 1
    assert f["table_rows"] == 3
    assert f["opener_affirm"] == 1 and f["opener_refusal"] == 0
    assert f["closer_offer"] == 1 and f["closer_summary"] == 1
    assert f["questions"] == 1 and f["exclamations"] == 2
    assert f["paragraphs"] == 7  # fenced code is not prose
    assert 0 < f["code_ratio"] < 0.2
    assert f["cjk_ratio"] == 0
    assert f["chars"] == len(MARKDOWN.strip())
    assert f["sentence_words"] == pytest.approx(f["words"] / f["sentences"])


def test_golden_chinese_counts_cjk_characters_as_words():
    f = feats(CHINESE)
    assert f["headings"] == 1
    assert f["numbered"] == 3
    assert f["bold"] == 1
    assert f["opener_affirm"] == 1
    assert f["closer_offer"] == 1
    cjk = sum(1 for ch in CHINESE if "\u4e00" <= ch <= "\u9fff")
    assert f["words"] == cjk + 3  # plus the list numbers 1, 2, 3
    assert f["cjk_ratio"] > 0.6
    assert feats("我是一个模型")["words"] == 6
    assert feats("GPT-4 是 OpenAI 的模型")["words"] == 7  # GPT, 4, 是, OpenAI, 的, 模, 型


def test_openers_and_closers():
    assert feats("Sure, here you go.")["opener_affirm"] == 1
    assert feats("**Great question!** Let's see.")["opener_affirm"] == 1
    assert feats("I'm sorry, but I can't help with that.")["opener_refusal"] == 1
    assert feats("抱歉，我无法回答。")["opener_refusal"] == 1
    assert feats("The answer is 4.")["opener_affirm"] == 0
    assert feats("Sunshine is nice.")["opener_affirm"] == 0  # 'sure' must be a word
    assert feats("Text.\n\nHope this helps!")["closer_offer"] == 1
    assert feats("Let me know if you need help. Then the long body follows." + " word" * 200)["closer_offer"] == 0
    assert feats("内容。\n\n如果你还有其他问题，请随时告诉我。")["closer_offer"] == 1
    assert feats("Body.\n\nOverall, it is fine.")["closer_summary"] == 1
    assert feats("总之，这样就可以了。")["closer_summary"] == 1


def test_empty_and_whitespace_rows_are_zero():
    f = style_features(["", "   \n\t ", "x"])
    assert f.values.shape == (3, len(FEATURE_NAMES))
    assert not f.values[:2].any()
    assert style_similarity(f.take([0]), f.take([1]))[0] == 1.0
    assert style_features([]).values.shape == (0, len(FEATURE_NAMES))


def test_input_validation():
    with pytest.raises(TypeError, match="wrap it"):
        style_features("one text")
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        style_features(["a", None])
    f = style_features(["a", "b"])
    with pytest.raises(ValueError, match="same number of rows"):
        style_similarity(f, f.take([0]))
    with pytest.raises(ValueError, match="shape"):
        style_similarity(np.zeros((2, 3)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match=">= 0"):
        style_similarity(-f.values, f.values)
    with pytest.raises(ValueError, match="unknown style features"):
        style_similarity(f, f, weights={"colour": 1.0})
    with pytest.raises(ValueError, match="not all 0"):
        style_similarity(f, f, weights={"chars": 0.0})
    with pytest.raises(ValueError, match="columns"):
        StyleFeatures(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="unknown style feature"):
        f.column("colour")
    with pytest.raises(ValueError, match="aligned"):
        style_scores(["a"], [])
    with pytest.raises(ValueError, match="unit"):
        length_ratio(f, f, unit="tokens")


texts = st.lists(
    st.sampled_from(list("ab c.!?#*-_|`\n1)、。当然\t ") + ["**", "```", "## ", "- ", "1. ", "Sure", "抱歉"]),
    max_size=60,
).map("".join)


@given(st.lists(texts, min_size=1, max_size=8), st.lists(texts, min_size=1, max_size=8))
def test_similarity_properties(xs, ys):
    n = min(len(xs), len(ys))
    a, b = style_features(xs[:n]), style_features(ys[:n])
    assert np.all(a.values >= 0)
    unit = a.values[:, len(COUNT_FEATURES) :]
    assert np.all(unit <= 1.0)
    s_ab = style_similarity(a, b)
    assert s_ab.shape == (n,)
    assert np.all((s_ab >= 0) & (s_ab <= 1))
    assert np.array_equal(s_ab, style_similarity(b, a))  # symmetric
    assert np.all(style_similarity(a, a) == 1.0)  # identical -> exactly 1
    # batch independence: each pair alone gives the same score
    for i in range(n):
        assert style_similarity(a.take([i]), b.take([i]))[0] == s_ab[i]
    lr = length_ratio(a, b)
    assert np.all((lr >= 0) & (lr <= 1))
    assert np.array_equal(style_scores(xs[:n], ys[:n]), s_ab)


def test_similarity_orders_styles_sensibly():
    listy = "Sure!\n\n- one\n- two\n- three\n\nHope this helps!"
    listy2 = "Certainly!\n\n- alpha\n- beta\n- gamma\n\nLet me know if you need more."
    prose = "The capital of France is Paris. It has been the capital for centuries and is large."
    f = style_features([listy, listy2, prose])
    close = style_similarity(f.take([0]), f.take([1]))[0]
    far = style_similarity(f.take([0]), f.take([2]))[0]
    assert close > far
    assert length_ratio(f.take([0]), f.take([0]))[0] == 1.0
    lr = length_ratio(style_features(["aaaa"]), style_features(["aa"]))[0]
    assert lr == 0.5
    # weights restrict the comparison to the named features
    only_len = style_similarity(f.take([0]), f.take([2]), weights={"chars": 1.0})[0]
    c = f.column("chars")
    assert only_len == pytest.approx((min(c[0], c[2]) + 1) / (max(c[0], c[2]) + 1))


def test_real_alpacaeval_answers_run_and_look_sane(shared_data):
    import json

    path = shared_data / "alpaca_eval"
    rows = json.loads((path / "gpt4_1106_preview.json").read_text())[:200]
    f = style_features([r["output"] for r in rows])
    assert f.values.shape == (200, len(FEATURE_NAMES))
    # GPT-4 answers use Markdown lists often and are rarely empty
    assert (f.column("numbered") + f.column("bullets") > 0).mean() > 0.3
    assert (f.column("words") > 0).all()


def test_word_and_emphasis_edge_cases():
    assert feats("don't stop, it's the students' rock'n'roll")["words"] == 6
    assert feats("It\u2019s fine")["words"] == 2
    assert feats("snake_case_name and 2*3*4 and a * b * c")["italic"] == 0
    assert feats("an *emphasised* word and _another_ one")["italic"] == 2
    assert feats("**bold** then *it*")["italic"] == 1 and feats("**bold** then *it*")["bold"] == 1


def test_closer_window_is_the_last_300_characters():
    # "Let me know." (12 characters) + 96 x " ok" (288) is exactly the 300-character tail
    at_edge = "Body.\n\nLet me know." + " ok" * 96
    assert feats(at_edge)["closer_offer"] == 1
    assert feats(at_edge + "!")["closer_offer"] == 0  # one character more: "L" falls out of the window


def test_unit_features_differ_by_at_most_one():
    """A ratio / indicator feature contributes 1 - min(|a - b|, 1), never less
    than 0, even for an out-of-range value in a raw array: one feature of 24
    apart (0 vs 3), every other equal, gives (24 - 1) / 24 with equal weights."""
    a = np.zeros((1, len(FEATURE_NAMES)))
    b = a.copy()
    b[0, -1] = 3.0
    assert style_similarity(a, b)[0] == pytest.approx((len(FEATURE_NAMES) - 1) / len(FEATURE_NAMES), abs=1e-15)


def test_length_ratio_units_and_empty_pair():
    # "aaaa bb": 7 characters, 2 words; "aa": 2 characters, 1 word
    a, b = style_features(["aaaa bb"]), style_features(["aa"])
    assert length_ratio(a, b)[0] == pytest.approx(2 / 7)
    assert length_ratio(a, b, unit="words")[0] == 0.5
    empty = style_features(["", "  "])
    assert length_ratio(empty.take([0]), empty.take([1]))[0] == 1.0  # both empty: the same length

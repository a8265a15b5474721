"""Sentence / paragraph segmentation (Markdown-, CJK- and abbreviation-aware)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from distillscope import segment
from distillscope.text.segment import split

MD = """# Title

Dr. Smith paid $3.14 for it, e.g. at the U.S. store. J. K. Rowling wrote it! Did she? Yes... and more.

- first item. Second sentence.
- second item
1. numbered

```python
x = 1.5

print(x)
```

| a | b |
|---|---|
| 1 | 2 |

他说：“你好。”我们走吧！真的？好的"""


def test_sentences_markdown_cjk_abbreviations():
    assert split(MD, "sentence") == [
        "# Title",
        "Dr. Smith paid $3.14 for it, e.g. at the U.S. store.",
        "J. K. Rowling wrote it!",
        "Did she?",
        "Yes... and more.",
        "- first item.",
        "Second sentence.",
        "- second item",
        "1. numbered",
        "```python\nx = 1.5\n\nprint(x)\n```",
        "| a | b |\n|---|---|\n| 1 | 2 |",
        "他说：“你好。”",
        "我们走吧！",
        "真的？",
        "好的",
    ]


def test_paragraphs_blank_line_splits_a_list():
    assert split("- a\n- b\n\n- c\n- d", "paragraph") == ["- a\n- b", "- c\n- d"]
    assert split("- a\n- b\n- c", "paragraph") == ["- a\n- b\n- c"]


def test_paragraphs():
    assert split(MD, "paragraph") == [
        "# Title",
        "Dr. Smith paid $3.14 for it, e.g. at the U.S. store. J. K. Rowling wrote it! Did she? Yes... and more.",
        "- first item. Second sentence.\n- second item\n1. numbered",
        "```python\nx = 1.5\n\nprint(x)\n```",
        "| a | b |\n|---|---|\n| 1 | 2 |",
        "他说：“你好。”我们走吧！真的？好的",
    ]


@pytest.mark.parametrize(
    "text, want",
    [
        ("", []),
        ("   \n\n ", []),
        ("One sentence without end", ["One sentence without end"]),
        ('He said "stop." Then he left.', ['He said "stop."', "Then he left."]),
        ("Version 1.2.3 is out. Install it.", ["Version 1.2.3 is out.", "Install it."]),
        ("Use fig. 3 and see vs. the rest.", ["Use fig. 3 and see vs. the rest."]),
        ("Wait... what? Really!", ["Wait... what?", "Really!"]),
        ("Line one\nline two. Next.", ["Line one\nline two.", "Next."]),
        ("```\nunterminated code. Still code.", ["```\nunterminated code. Still code."]),
        ("第一句。第二句！", ["第一句。", "第二句！"]),
        ("Text.\n\n---\n\nMore.", ["Text.", "More."]),
        # an abbreviation right after an opening bracket is still an abbreviation
        ("He met (Dr. Smith) today.", ["He met (Dr. Smith) today."]),
        # inner periods with parts of up to two letters ("S.Ct.", like "u.s.") do not end a sentence
        ("See 5 S.Ct. Reports for details.", ["See 5 S.Ct. Reports for details."]),
        # a three-digit list marker stays with its item
        ("100. First point. More.", ["100. First point.", "More."]),
    ],
)
def test_sentence_cases(text, want):
    assert split(text, "sentence") == want


def test_segment_ragged_layout():
    texts = ["A b. C d.", "", "One.\n\nTwo."]
    s = segment(texts)
    assert s.values.dtype == np.int64 and s.values.shape == (4, 2)
    assert s.offsets.tolist() == [0, 2, 2, 4]
    got = [[texts[i][a:b] for a, b in s[i].tolist()] for i in range(3)]
    assert got == [["A b.", "C d."], [], ["One.", "Two."]]
    p = segment(texts, level="paragraph")
    assert p.offsets.tolist() == [0, 1, 1, 3]


def test_bad_input():
    with pytest.raises(ValueError, match="level"):
        segment(["x"], level="word")
    with pytest.raises(TypeError, match="wrap it"):
        segment("a string")
    with pytest.raises(TypeError, match="texts\\[0\\]"):
        segment([None])


@given(
    st.lists(st.text(alphabet=st.sampled_from(list("ab .!?\n#-`|。3")), max_size=60), max_size=5),
    st.sampled_from(["sentence", "paragraph"]),
)
def test_spans_are_ordered_trimmed_nonempty(texts, level):
    s = segment(texts, level=level)
    assert len(s) == len(texts)
    for i, t in enumerate(texts):
        prev = 0
        for a, b in s[i].tolist():
            assert prev <= a < b <= len(t)
            piece = t[a:b]
            assert piece.strip() == piece and piece
            prev = b
        # every non-space character is covered by some span
        covered = np.zeros(len(t), bool)
        for a, b in s[i].tolist():
            covered[a:b] = True
        for k, ch in enumerate(t):
            if not ch.isspace() and not covered[k]:
                # only horizontal rules and empty list items (a marker and
                # white space, nothing to say) may be dropped
                line = t[: k + 1].rsplit("\n", 1)[-1] + t[k + 1 :].split("\n", 1)[0]
                rule = set(line.strip()) <= set("-*_ ") and len(line.strip().replace(" ", "")) >= 3
                empty_item = (
                    re.fullmatch(r"\s{0,8}(?:[-*+•]|\d{1,3}[.)])\s*", line) is not None
                )  # CommonMark: a bare marker is an empty item
                assert rule or empty_item, (t, k)


def test_list_items_after_the_first_line_keep_their_marker_and_lose_their_indent():
    # regression: the marker was looked up with a "^" anchored at the text's
    # start, so every item but one on the first line kept its indentation
    text = "Intro line.\n  - first item. Second sentence.\n3. third item\n - "
    spans = [text[a:b] for a, b in segment([text], level="sentence")[0].tolist()]
    assert spans == ["Intro line.", "- first item.", "Second sentence.", "3. third item"]

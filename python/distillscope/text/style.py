"""Style features of responses and the style similarity of response pairs.

A response's *style* is how it is shaped rather than what it says: its
length, its Markdown structure, its sentence rhythm and the stock phrases it
opens and closes with. Distilled models inherit these habits readily (they
are cheap to imitate and consistent across prompts), so they are a separate
granularity next to lexical, semantic and structural similarity.

:func:`style_features` turns a batch of texts into a (N, F) float64 matrix
(column names in :data:`FEATURE_NAMES`); :func:`style_similarity` compares
two such matrices row by row and returns one score in [0, 1] per pair.

Features (counts are per response; fenced code is removed before everything
except ``code_blocks`` and ``code_ratio`` are measured)::

    chars              characters, surrounding whitespace stripped
    words              words; every CJK character counts as one word
    lines              non-empty lines
    paragraphs         blocks separated by blank lines
    headings           ATX headings (``# ...`` to ``###### ...``)
    bullets            ``-``, ``*``, ``+``, ``•`` list items
    numbered           ``1.``, ``1)``, ``1、``, ``(1)`` list items
    code_blocks        fenced code blocks (``` or ~~~; an unclosed fence counts)
    inline_code        `code` spans
    bold, italic       **bold**/__bold__ and *italic*/_italic_ spans
    table_rows         lines that look like ``| a | b |``
    sentences          sentences (ends: . ! ? 。！？, or a line break)
    sentence_words     mean words per sentence
    exclamations       ``!`` and ``！``
    questions          ``?`` and ``？``
    opener_affirm      1 if it opens with "Certainly", "Sure", "Great question", "当然", "好的" ...
    opener_refusal     1 if it opens with an apology/refusal ("I'm sorry", "As an AI", "抱歉" ...)
    closer_offer       1 if it ends with an offer ("Let me know if", "Hope this helps", "希望对你有帮助" ...)
    closer_summary     1 if its last paragraph starts a summary ("In summary", "Overall", "总之" ...)
    markdown_density   (headings + list items + table rows) / lines
    list_ratio         list items / lines
    code_ratio         characters inside fenced code / chars
    cjk_ratio          CJK characters / letters, digits and CJK characters

Similarity: count features are compared by the smoothed ratio
``(min + 1) / (max + 1)`` (1 when equal, 0.5 for 0 vs 1 or ~2x apart), ratio
and indicator features by ``1 - |a - b|``; the style similarity is the
weighted mean of these per-feature similarities (equal weights unless
given). Nothing is fitted to the batch, so a pair's score never depends on
which other texts were scored with it (the determinism contract).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "FEATURE_NAMES",
    "COUNT_FEATURES",
    "StyleFeatures",
    "style_features",
    "style_similarity",
    "length_ratio",
    "style_scores",
    "STYLE_SIGNATURE",
]

COUNT_FEATURES: tuple[str, ...] = (
    "chars",
    "words",
    "lines",
    "paragraphs",
    "headings",
    "bullets",
    "numbered",
    "code_blocks",
    "inline_code",
    "bold",
    "italic",
    "table_rows",
    "sentences",
    "sentence_words",
    "exclamations",
    "questions",
)
_UNIT_FEATURES: tuple[str, ...] = (
    "opener_affirm",
    "opener_refusal",
    "closer_offer",
    "closer_summary",
    "markdown_density",
    "list_ratio",
    "code_ratio",
    "cjk_ratio",
)
FEATURE_NAMES: tuple[str, ...] = COUNT_FEATURES + _UNIT_FEATURES
_N_COUNT = len(COUNT_FEATURES)
_COL = {n: i for i, n in enumerate(FEATURE_NAMES)}
_VERSION = "1"
STYLE_SIGNATURE = f"style:v{_VERSION}|features={len(FEATURE_NAMES)}|count=(min+1)/(max+1)|unit=1-|a-b||weights=equal"

# ---------------------------------------------------------------- patterns (compiled once)
_CJK_CLASS = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_CJK = re.compile(f"[{_CJK_CLASS}]")
_WORD = re.compile(r"[^\W_]+")  # run on text with apostrophes removed: "don't" is one word
_FENCED = re.compile(r"^[ \t]*(```|~~~)[^\n]*\n?(.*?)(?:^[ \t]*\1[ \t]*$|\Z)", re.M | re.S)
_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+\S", re.M)
_BULLET = re.compile(r"^[ \t]*[-*+\u2022][ \t]+\S", re.M)
_NUMBERED = re.compile(r"^[ \t]*(?:\d{1,3}[.)][ \t]+|\d{1,3}\u3001[ \t]*|[(\uff08]\d{1,3}[)\uff09][ \t]*)\S", re.M)
_INLINE_CODE = re.compile(r"`[^`\n]+`")
_BOLD = re.compile(r"\*\*(?=\S)[^*\n]+?\*\*|__(?=\S)[^_\n]+?__")
# the marker comes first (then a look-behind over it) so the engine can skip
# ahead to '*' / '_' instead of trying every position: ~8x faster
_ITALIC = re.compile(r"\*(?<![\w*]\*)(?=[^\s*])[^*\n]*?[^\s*]?\*(?![\w*])|_(?<![\w_]_)(?=[^\s_])[^_\n]*?_(?![\w_])")
_TABLE_ROW = re.compile(r"^[ \t]*\|.*\|[ \t]*$", re.M)
# a sentence: from its first letter/digit to . ! ? before a space, 。！？, or the end of the line
_SENTENCE = re.compile(r"[^\W_][^\n]*?(?:[.!?]+(?=\s|$)|[\u3002\uff01\uff1f]+|$)", re.M)
_ALNUM = re.compile(r"[^\W_]")
_PARA_SPLIT = re.compile(r"\n[ \t]*\n")
_LEAD_MARKUP = re.compile(r"^[\s#>*_\-\"'\u201c\u300c]+")
_OPENER_AFFIRM = re.compile(
    r"(?:certainly|sure\b|of course|absolutely|definitely|great question|good question|excellent question|"
    r"what a (?:great|good|fascinating|wonderful)|yes[,.!]|i'?d be (?:happy|glad|delighted)|"
    r"i would be (?:happy|glad|delighted)|happy to help|"
    r"\u5f53\u7136|\u597d\u7684|\u6ca1\u95ee\u9898|\u5f88\u9ad8\u5174|\u8fd9\u662f\u4e00\u4e2a(?:\u5f88)?\u597d\u7684?\u95ee\u9898|\u597d\u95ee\u9898)",
    re.I,
)  # 当然 好的 没问题 很高兴 这是一个(很)好(的)问题 好问题
_OPENER_REFUSAL = re.compile(
    r"(?:i'?m sorry|i am sorry|sorry,|i apologi[sz]e|unfortunately|i can(?:not|'t|\u2019t)|i am unable|"
    r"i'?m unable|i'?m not able|as an ai|as a language model|"
    r"\u62b1\u6b49|\u5bf9\u4e0d\u8d77|\u5f88\u9057\u61be|\u4f5c\u4e3a\u4e00?\u4e2a?(?:AI|\u4eba\u5de5\u667a\u80fd|\u8bed\u8a00\u6a21\u578b))",
    re.I,
)  # 抱歉 对不起 很遗憾 作为(一个)AI/人工智能/语言模型
_CLOSER_OFFER = re.compile(
    r"(?:let me know|feel free to|hope (?:this|that|it|these) (?:helps|was helpful|is helpful)|"
    r"if you have any (?:other |more |further |additional )?questions|happy to help|"
    r"(?:don't|do not|don\u2019t) hesitate|is there anything else|anything else (?:i can|you'd like)|"
    r"\u5e0c\u671b(?:\u8fd9|\u4ee5\u4e0a|\u8fd9\u4e9b)?(?:\u5185\u5bb9|\u4fe1\u606f|\u56de\u7b54)?(?:\u5bf9\u4f60|\u5bf9\u60a8|\u80fd)?(?:\u6709\u6240|\u6709)?\u5e2e\u52a9|"
    r"\u5982\u679c(?:\u4f60|\u60a8)?(?:\u8fd8)?\u6709(?:\u4efb\u4f55|\u5176\u4ed6|\u5176\u5b83|\u66f4\u591a)|"
    r"\u5982\u6709(?:\u4efb\u4f55|\u5176\u4ed6|\u7591\u95ee)|\u6b22\u8fce(?:\u7ee7\u7eed)?(?:\u63d0\u95ee|\u8ffd\u95ee)|\u968f\u65f6(?:\u544a\u8bc9|\u95ee|\u8054\u7cfb))",
    re.I,
)  # 希望(这/以上)…有(所)帮助 如果(你)还有任何/其他 如有任何/其他/疑问 欢迎(继续)提问 随时告诉/问
_CLOSER_SUMMARY = re.compile(
    r"^\W*(?:in summary|to summarize|in conclusion|overall|in short|to sum up|ultimately|all in all|"
    r"\u603b\u4e4b|\u603b\u7684\u6765\u8bf4|\u7efc\u4e0a\u6240\u8ff0|\u603b\u7ed3|\u603b\u800c\u8a00\u4e4b)",
    re.I,
)  # 总之 总的来说 综上所述 总结 总而言之
_TAIL_CHARS = 300


@dataclass(frozen=True)
class StyleFeatures:
    """Style features of a batch of responses: ``values`` is (N, F) float64,
    columns named by ``names`` (= :data:`FEATURE_NAMES`)."""

    values: np.ndarray
    names: tuple[str, ...] = FEATURE_NAMES

    def __post_init__(self) -> None:
        v = self.values
        if not isinstance(v, np.ndarray) or v.dtype != np.float64 or v.ndim != 2:
            raise TypeError("values must be a 2-D float64 numpy array (use style_features(texts))")
        if tuple(self.names) != FEATURE_NAMES or v.shape[1] != len(FEATURE_NAMES):
            raise ValueError(
                f"expected {len(FEATURE_NAMES)} columns named FEATURE_NAMES, got {v.shape[1]} "
                "(features from another distillscope version? recompute with style_features)"
            )

    def __len__(self) -> int:
        return int(self.values.shape[0])

    def column(self, name: str) -> np.ndarray:
        if name not in _COL:
            raise ValueError(f"unknown style feature {name!r}; known: {list(FEATURE_NAMES)}")
        return self.values[:, _COL[name]]

    def take(self, index: Sequence[int] | np.ndarray) -> StyleFeatures:
        """Rows in the given order (e.g. to align two models' responses by prompt)."""
        return StyleFeatures(np.ascontiguousarray(self.values[np.asarray(index, dtype=np.int64)]))

    def to_records(self) -> list[dict[str, float]]:
        return [dict(zip(self.names, map(float, row))) for row in self.values]


def _features_one(text: str) -> list[float]:
    t = text.strip()
    n_chars = len(t)
    code_chars = 0
    n_fences = 0
    for m in _FENCED.finditer(t):
        n_fences += 1
        code_chars += len(m.group(2))
    body = _FENCED.sub("\n", t) if n_fences else t
    cjk = len(_CJK.findall(body))
    plain = body.replace("'", "").replace("\u2019", "") if ("'" in body or "\u2019" in body) else body
    words = len(_WORD.findall(_CJK.sub(" ", plain))) + cjk if cjk else len(_WORD.findall(plain))
    lines = [ln for ln in body.split("\n") if ln.strip()]
    n_lines = len(lines)
    paragraphs = sum(1 for p in _PARA_SPLIT.split(body) if p.strip())
    # cheap substring guards skip a regex scan when its marker is absent
    headings = len(_HEADING.findall(body)) if "#" in body else 0
    bullets = len(_BULLET.findall(body))
    numbered = len(_NUMBERED.findall(body))
    inline_code = len(_INLINE_CODE.findall(body)) if "`" in body else 0
    bold = len(_BOLD.findall(body)) if ("**" in body or "__" in body) else 0
    italic = len(_ITALIC.findall(_BOLD.sub(" ", body) if bold else body)) if ("*" in body or "_" in body) else 0
    table_rows = len(_TABLE_ROW.findall(body)) if "|" in body else 0
    sentences = len(_SENTENCE.findall(body))
    sentence_words = words / sentences if sentences else 0.0
    excl = body.count("!") + body.count("\uff01")
    ques = body.count("?") + body.count("\uff1f")
    head = _LEAD_MARKUP.sub("", t[:200])
    opener_affirm = 1.0 if _OPENER_AFFIRM.match(head) else 0.0
    opener_refusal = 1.0 if _OPENER_REFUSAL.match(head) else 0.0
    tail = body.rstrip()[-_TAIL_CHARS:]
    closer_offer = 1.0 if _CLOSER_OFFER.search(tail) else 0.0
    paras = [p for p in _PARA_SPLIT.split(body) if p.strip()]
    last = _LEAD_MARKUP.sub("", paras[-1].strip()) if paras else ""
    closer_summary = 1.0 if _CLOSER_SUMMARY.match(last) else 0.0
    items = bullets + numbered
    alnum = len(_ALNUM.findall(body)) if cjk else 0  # CJK characters are \w too
    return [
        float(n_chars),
        float(words),
        float(n_lines),
        float(paragraphs),
        float(headings),
        float(bullets),
        float(numbered),
        float((n_fences + 1) // 2 if n_fences else 0),
        float(inline_code),
        float(bold),
        float(italic),
        float(table_rows),
        float(sentences),
        float(sentence_words),
        float(excl),
        float(ques),
        opener_affirm,
        opener_refusal,
        closer_offer,
        closer_summary,
        min(1.0, (headings + items + table_rows) / n_lines) if n_lines else 0.0,
        min(1.0, items / n_lines) if n_lines else 0.0,
        min(1.0, code_chars / n_chars) if n_chars else 0.0,
        cjk / alnum if alnum else 0.0,
    ]


def style_features(texts: Iterable[str]) -> StyleFeatures:
    """Style feature matrix (N, F) of a batch of texts (see the module docstring).

    Empty or whitespace-only texts give an all-zero row. Non-str items raise
    TypeError.
    """
    if isinstance(texts, str):
        raise TypeError("style_features takes a list of texts, not one str; wrap it: style_features([text])")
    rows = []
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"texts[{i}] is {type(t).__name__}, expected str (use '' for a missing answer)")
        rows.append(_features_one(t))
    values = np.array(rows, dtype=np.float64).reshape(len(rows), len(FEATURE_NAMES))
    return StyleFeatures(values)


def _as_features(x: StyleFeatures | np.ndarray, name: str) -> np.ndarray:
    if isinstance(x, StyleFeatures):
        return x.values
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] != len(FEATURE_NAMES):
        raise ValueError(f"{name} must be StyleFeatures or an (N, {len(FEATURE_NAMES)}) array, got shape {a.shape}")
    return a


def _weights(weights: Mapping[str, float] | None) -> np.ndarray:
    if weights is None:
        return np.ones(len(FEATURE_NAMES))
    unknown = sorted(set(weights) - set(FEATURE_NAMES))
    if unknown:
        raise ValueError(f"unknown style features in weights: {unknown}; known: {list(FEATURE_NAMES)}")
    w = np.array([float(weights.get(n, 0.0)) for n in FEATURE_NAMES])
    if np.any(~np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError("style weights must be finite, >= 0, and not all 0")
    return w


def style_similarity(
    features_a: StyleFeatures | np.ndarray,
    features_b: StyleFeatures | np.ndarray,
    *,
    weights: Mapping[str, float] | None = None,
) -> np.ndarray:
    """Per-pair style similarity in [0, 1] of two aligned feature batches.

    Row i of ``features_a`` is compared with row i of ``features_b``:
    ``(min + 1) / (max + 1)`` per count feature, ``1 - |a - b|`` per ratio or
    indicator feature, then the weighted mean (``weights`` maps feature
    names to weights; missing names weigh 0; default equal). Identical
    rows score exactly 1. Vectorized over all pairs.
    """
    a = _as_features(features_a, "features_a")
    b = _as_features(features_b, "features_b")
    if a.shape != b.shape:
        raise ValueError(f"features_a and features_b must have the same number of rows, got {len(a)} and {len(b)}")
    if np.any(a < 0) or np.any(b < 0) or not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("style features must be finite and >= 0 (compute them with style_features)")
    w = _weights(weights)
    sims = np.empty_like(a)
    ca, cb = a[:, :_N_COUNT], b[:, :_N_COUNT]
    sims[:, :_N_COUNT] = (np.minimum(ca, cb) + 1.0) / (np.maximum(ca, cb) + 1.0)
    sims[:, _N_COUNT:] = 1.0 - np.minimum(np.abs(a[:, _N_COUNT:] - b[:, _N_COUNT:]), 1.0)
    # a plain row reduction, not BLAS: a pair scores the same bits in any batch
    out = (sims * w).sum(axis=1) / w.sum()
    return np.clip(out, 0.0, 1.0)


def length_ratio(
    features_a: StyleFeatures | np.ndarray, features_b: StyleFeatures | np.ndarray, *, unit: str = "chars"
) -> np.ndarray:
    """min/max of the two responses' lengths (``unit`` "chars" or "words"); 1 when both are empty."""
    if unit not in ("chars", "words"):
        raise ValueError(f"unit must be 'chars' or 'words', got {unit!r}")
    a = _as_features(features_a, "features_a")[:, _COL[unit]]
    b = _as_features(features_b, "features_b")[:, _COL[unit]]
    if a.shape != b.shape:
        raise ValueError(f"features_a and features_b must have the same number of rows, got {len(a)} and {len(b)}")
    hi = np.maximum(a, b)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(hi > 0, np.minimum(a, b) / hi, 1.0)


def style_scores(
    texts_a: Sequence[str], texts_b: Sequence[str], *, weights: Mapping[str, float] | None = None
) -> np.ndarray:
    """Convenience: :func:`style_similarity` of two aligned lists of texts."""
    if len(texts_a) != len(texts_b):
        raise ValueError(f"texts_a and texts_b must be aligned (same length), got {len(texts_a)} and {len(texts_b)}")
    return style_similarity(style_features(texts_a), style_features(texts_b), weights=weights)

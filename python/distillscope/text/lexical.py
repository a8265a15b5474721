"""Lexical overlap metrics for whole batches of (candidate, reference) pairs.

ROUGE-N / ROUGE-L, sentence BLEU, chrF / chrF++ and n-gram Jaccard /
containment, computed in the C++ core in one call per batch with the GIL
released. Every result is a frozen dataclass of numpy arrays with a
reproducibility ``signature`` (metric, tokenizer, n, smoothing, version),
in the spirit of sacrebleu's.

Parity (tested): with ``tokenizer="rouge"`` ROUGE equals rouge-score's
``RougeScorer(use_stemmer=False)`` (and ``use_stemmer=True`` through NLTK's
Porter stemmer, if installed); BLEU equals ``sacrebleu.sentence_bleu`` and
chrF / chrF++ equal ``sacrebleu.sentence_chrf`` (single reference).

:func:`lexical_scores` is the combined entry point for large runs: it
tokenizes each side once and computes every requested metric in one native
call. Results are identical for any ``workers`` and any split of the batch.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import _core
from .._ragged import Ragged
from ..kernels import check_workers
from .tokenize import as_text_list, as_token_ids, check_tokenizer, unicode_version

__all__ = [
    "RougeScore",
    "RougeResult",
    "BleuResult",
    "ChrfResult",
    "OverlapResult",
    "rouge_scores",
    "bleu_scores",
    "chrf_scores",
    "ngram_overlap",
    "lexical_scores",
    "LEXICAL_METRICS",
    "lexical_signature",
]

_SMOOTH_DEFAULTS = {"none": None, "floor": 0.1, "add-k": 1.0, "exp": None}
_ROUGE_RE = re.compile(r"^rouge([1-9][0-9]?)$")
_OVERLAP_RE = re.compile(r"^(jaccard|containment)(?:_(set|multiset))?([1-9][0-9]?)?$")
LEXICAL_METRICS = ("rouge1", "rouge2", "rougeL", "bleu", "chrf", "chrf++", "jaccard", "containment")


def _version() -> str:
    from .._version import __version__

    return __version__


def _tok_sig(tokenizer: str, ids: bool) -> str:
    if ids:
        return "ids"
    if tokenizer == "unicode":
        return f"unicode-{unicode_version()}"
    return tokenizer


def _signature(metric: str, **info: Any) -> str:
    parts = [f"metric:{metric}", "nrefs:1"]
    for k, v in info.items():
        if isinstance(v, bool):
            v = "yes" if v else "no"
        parts.append(f"{k}:{v}")
    parts.append(f"version:{_version()}")
    return "|".join(parts)


def _inputs(candidates: Any, references: Any) -> tuple[Any, Any, bool]:
    c_ids = isinstance(candidates, Ragged)
    r_ids = isinstance(references, Ragged)
    if c_ids != r_ids:
        raise TypeError("candidates and references must both be texts or both be Ragged token ids")
    if c_ids:
        if len(candidates) != len(references):
            raise ValueError(
                f"candidates and references must have the same number of rows; got {len(candidates)} and {len(references)}"
            )
        return as_token_ids(candidates, "candidates"), as_token_ids(references, "references"), True
    return as_text_list(candidates, "candidates"), as_text_list(references, "references"), False


def _native(
    candidates: Any,
    references: Any,
    *,
    tokenizer: str = "unicode",
    word_n: int = 0,
    distinct: bool = False,
    lcs: bool = False,
    chrf: tuple[int, int, float, bool, bool] | None = None,
    bleu: tuple[int, str, float, bool] | None = None,
    workers: int = 1,
) -> tuple[dict[str, np.ndarray], bool]:
    tok = check_tokenizer(tokenizer)
    c, r, ids = _inputs(candidates, references)
    co, wo, beta, eps, ws = chrf if chrf is not None else (0, 0, 2.0, False, False)
    if chrf is not None and ids:
        raise ValueError("chrF is defined on characters: pass texts, not pre-tokenized Ragged ids")
    b_order, smooth, sval, eff = bleu if bleu is not None else (4, "exp", 0.0, True)
    out = _core.text_lexical(
        c,
        r,
        tok,
        int(word_n),
        bool(distinct),
        bool(lcs),
        int(co),
        int(wo),
        float(beta),
        bool(eps),
        bool(ws),
        bleu is not None,
        int(b_order),
        smooth,
        float(sval),
        bool(eff),
        check_workers(workers),
    )
    return out, ids


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num = num.astype(np.float64)
    den = den.astype(np.float64)
    out = np.zeros(num.shape, dtype=np.float64)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _fmeasure(p: np.ndarray, r: np.ndarray) -> np.ndarray:
    s = p + r
    out = np.zeros(p.shape, dtype=np.float64)
    np.divide(2 * p * r, s, out=out, where=s > 0)
    return out


@dataclass(frozen=True)
class RougeScore:
    """Per-pair ROUGE precision, recall and F1 (float64 arrays, 0..1)."""

    precision: np.ndarray
    recall: np.ndarray
    fmeasure: np.ndarray


@dataclass(frozen=True)
class RougeResult:
    """ROUGE scores per type (``result["rouge1"].fmeasure``) and the signature."""

    scores: Mapping[str, RougeScore]
    signature: str

    def __getitem__(self, rouge_type: str) -> RougeScore:
        return self.scores[rouge_type]

    def keys(self):  # noqa: D401 - mapping-like convenience
        return self.scores.keys()


@dataclass(frozen=True)
class BleuResult:
    """Sentence BLEU per pair (0..100, like sacrebleu) with its statistics.

    ``counts``/``totals`` are the clipped matches and candidate n-gram counts
    per order (shape ``(N, max_ngram_order)``), before add-k smoothing.
    """

    score: np.ndarray
    bp: np.ndarray
    counts: np.ndarray
    totals: np.ndarray
    sys_len: np.ndarray
    ref_len: np.ndarray
    signature: str


@dataclass(frozen=True)
class ChrfResult:
    """Sentence chrF / chrF++ per pair (0..100, like sacrebleu)."""

    score: np.ndarray
    signature: str


@dataclass(frozen=True)
class OverlapResult:
    """n-gram overlap per pair.

    ``jaccard`` = |C ∩ R| / |C ∪ R|; ``containment`` = |C ∩ R| / |C| (how much
    of the candidate's n-grams occur in the reference); ``coverage`` =
    |C ∩ R| / |R|. With ``mode="multiset"`` intersections and unions count
    multiplicities (min / max of counts). Pairs with an empty denominator
    score 0. ``intersection``, ``cand_count`` and ``ref_count`` are the raw
    counts (distinct n-grams for sets, all n-grams for multisets).
    """

    jaccard: np.ndarray
    containment: np.ndarray
    coverage: np.ndarray
    intersection: np.ndarray
    cand_count: np.ndarray
    ref_count: np.ndarray
    signature: str


def _rouge_from(out: dict[str, np.ndarray], rtype: str) -> RougeScore:
    if rtype == "rougeL":
        lcs, cl, rl = out["lcs"], out["cand_len"], out["ref_len"]
        p = _ratio(lcs, cl)
        r = _ratio(lcs, rl)
        # rouge-score: 0 when either side is empty (p, r already 0 there)
        return RougeScore(p, r, _fmeasure(p, r))
    n = int(_ROUGE_RE.match(rtype).group(1))  # type: ignore[union-attr]
    g = out["ngram"][:, n - 1, :]
    match = g[:, 2]
    p = _ratio(match, np.maximum(g[:, 0], 1))
    r = _ratio(match, np.maximum(g[:, 1], 1))
    return RougeScore(p, r, _fmeasure(p, r))


def _parse_rouge_types(rouge_types: Sequence[str]) -> tuple[list[str], int, bool]:
    """(types, largest n, LCS needed); rougeLsum is accepted and handled apart."""
    if isinstance(rouge_types, str):
        rouge_types = (rouge_types,)
    types = list(rouge_types)
    if not types:
        raise ValueError("rouge_types must name at least one type, e.g. ('rouge1', 'rouge2', 'rougeL')")
    max_n, lcs = 0, False
    for t in types:
        if t == "rougeL":
            lcs = True
        elif _ROUGE_RE.match(t):
            max_n = max(max_n, int(_ROUGE_RE.match(t).group(1)))  # type: ignore[union-attr]
        elif t != "rougeLsum":
            raise ValueError(f"invalid rouge type {t!r}; use 'rouge1'..'rouge64', 'rougeL' or 'rougeLsum'")
    return types, max_n, lcs


class _Stemmer:
    """rouge-score's stemming step: NLTK Porter on tokens longer than 3 characters."""

    def __init__(self) -> None:
        try:
            from nltk.stem import porter
        except ImportError as e:  # pragma: no cover - nltk ships with rouge-score
            raise ImportError("use_stemmer=True needs NLTK's Porter stemmer: pip install nltk") from e
        self._stem = porter.PorterStemmer().stem
        self._token_id: dict[str, int] = {}
        self._stem_id: dict[str, int] = {}

    def ids(self, texts: Sequence[str], workers: int) -> Ragged:
        from .tokenize import token_strings

        rows = token_strings(texts, "rouge", workers=workers)
        out = []
        for row in rows:
            ids = []
            for tok in row:
                i = self._token_id.get(tok)
                if i is None:
                    stem = self._stem(tok) if len(tok) > 3 else tok
                    i = self._stem_id.setdefault(stem, len(self._stem_id))
                    self._token_id[tok] = i
                ids.append(i)
            out.append(ids)
        return Ragged.from_rows(out, dtype=np.int64)


def rouge_scores(
    candidates: Sequence[str] | Ragged,
    references: Sequence[str] | Ragged,
    *,
    rouge_types: Sequence[str] = ("rouge1", "rouge2", "rougeL"),
    tokenizer: str = "unicode",
    use_stemmer: bool = False,
    split_summaries: bool = False,
    workers: int = 1,
) -> RougeResult:
    """ROUGE-N and ROUGE-L (bit-parallel LCS) precision / recall / F per pair.

    ``candidates`` are rouge-score's *predictions*, ``references`` its
    *targets*. ``tokenizer="rouge"`` reproduces rouge-score exactly; the
    default ``"unicode"`` also scores CJK text. ``use_stemmer=True`` applies
    NLTK's Porter stemmer to tokens longer than 3 characters, as rouge-score
    does (``tokenizer="rouge"`` only; the stemming runs in Python).

    ``rougeLsum`` is rouge-score's summary-level LCS: texts split into
    sentences on newlines (NLTK's ``sent_tokenize`` with
    ``split_summaries=True``), union LCS per reference sentence
    (:mod:`distillscope.text.rouge_lsum`); it needs texts, not ``Ragged`` ids.
    """
    types, max_n, lcs = _parse_rouge_types(rouge_types)
    lsum = None
    if "rougeLsum" in types:
        if isinstance(candidates, Ragged) or isinstance(references, Ragged):
            raise ValueError("rougeLsum splits texts into sentences: pass texts, not Ragged token ids")
        c_txt: Sequence[str] = as_text_list(candidates, "candidates")
        r_txt: Sequence[str] = as_text_list(references, "references")
        if len(c_txt) != len(r_txt):
            raise ValueError(f"candidates and references must have the same length; got {len(c_txt)} and {len(r_txt)}")
        lsum = _lsum(c_txt, r_txt, tokenizer, use_stemmer, split_summaries, workers)
        candidates, references = c_txt, r_txt
    if use_stemmer:
        if tokenizer != "rouge" or isinstance(candidates, Ragged):
            raise ValueError("use_stemmer=True is only defined for texts with tokenizer='rouge' (rouge-score's)")
        stemmer = _Stemmer()
        candidates = stemmer.ids(candidates, workers)  # type: ignore[arg-type]
        references = stemmer.ids(references, workers)  # type: ignore[arg-type]
    if max_n or lcs:
        out, ids = _native(candidates, references, tokenizer=tokenizer, word_n=max_n, lcs=lcs, workers=workers)
    else:
        out, ids = {}, False
    scores = {t: RougeScore(*lsum) if t == "rougeLsum" else _rouge_from(out, t) for t in types}  # type: ignore[misc]
    tok = "rouge+porter" if use_stemmer else _tok_sig(tokenizer, ids)
    sig = _signature("rouge", types=",".join(types), tok=tok)
    return RougeResult(scores, sig)


def _finite_option(value: Any, name: str, lo: float, hint: str) -> float:
    """A user option as a finite float >= lo, or a one-line error naming the fix."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}{hint}")
    v = float(value)
    if not math.isfinite(v) or v < lo:
        raise ValueError(f"{name} must be a finite number >= {lo:g}, got {value!r}{hint}")
    return v


def _int_option(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    return int(value)


def _lsum(
    cands: Sequence[str], refs: Sequence[str], tokenizer: str, use_stemmer: bool, split: bool, workers: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from .rouge_lsum import lsum_from_ids, split_sentences
    from .tokenize import tokenize

    cs, co = split_sentences(cands, split)
    rs, ro = split_sentences(refs, split)
    if use_stemmer:
        stemmer = _Stemmer()
        ci, ri = stemmer.ids(cs, workers), stemmer.ids(rs, workers)
    else:
        ci, ri = tokenize(cs, tokenizer, workers=workers), tokenize(rs, tokenizer, workers=workers)
    return lsum_from_ids(ci, co, ri, ro, workers)


def _smooth_value(smooth_method: str, smooth_value: float | None) -> tuple[float, str]:
    if smooth_method not in _SMOOTH_DEFAULTS:
        raise ValueError(f"smooth_method must be one of {tuple(_SMOOTH_DEFAULTS)}; got {smooth_method!r}")
    default = _SMOOTH_DEFAULTS[smooth_method]
    if smooth_value is not None:
        smooth_value = _finite_option(smooth_value, "smooth_value", 0.0, " (floor: 0.1, add-k: 1 by default)")
    if default is None:
        return 0.0, smooth_method
    v = default if smooth_value is None else float(smooth_value)
    return v, f"{smooth_method}[{v:.2f}]"


def bleu_scores(
    candidates: Sequence[str] | Ragged,
    references: Sequence[str] | Ragged,
    *,
    tokenizer: str = "13a",
    smooth_method: str = "exp",
    smooth_value: float | None = None,
    effective_order: bool = True,
    max_ngram_order: int = 4,
    lowercase: bool = False,
    workers: int = 1,
) -> BleuResult:
    """Sentence BLEU per pair, as ``sacrebleu.sentence_bleu(cand, [ref])``.

    Defaults match sacrebleu's sentence BLEU: 13a tokenizer, ``exp``
    smoothing, effective order. Smoothing: ``exp`` (NIST), ``floor``
    (default 0.1), ``add-k`` (default 1), ``none``.
    """
    max_ngram_order = _int_option(max_ngram_order, "max_ngram_order")
    sval, smooth_sig = _smooth_value(smooth_method, smooth_value)
    if not 1 <= int(max_ngram_order) <= 64:
        raise ValueError(f"max_ngram_order must be between 1 and 64; got {max_ngram_order}")
    if lowercase and not isinstance(candidates, Ragged):
        candidates = [_lower(t) for t in candidates]
        references = [_lower(t) for t in references]
    out, ids = _native(
        candidates,
        references,
        tokenizer=tokenizer,
        word_n=int(max_ngram_order),
        bleu=(int(max_ngram_order), smooth_method, sval, bool(effective_order)),
        workers=workers,
    )
    g = out["ngram"]
    sig = _signature(
        "bleu",
        case="lc" if lowercase else "mixed",
        eff=bool(effective_order),
        tok=_tok_sig(tokenizer, ids),
        smooth=smooth_sig,
        n=int(max_ngram_order),
    )
    return BleuResult(
        score=out["bleu"],
        bp=out["bleu_bp"],
        counts=np.ascontiguousarray(g[:, :, 2]),
        totals=np.ascontiguousarray(g[:, :, 0]),
        sys_len=out["cand_len"],
        ref_len=out["ref_len"],
        signature=sig,
    )


def _lower(t: Any) -> Any:
    return t.lower() if isinstance(t, str) else t


def chrf_scores(
    candidates: Sequence[str],
    references: Sequence[str],
    *,
    char_order: int = 6,
    word_order: int = 0,
    beta: float = 2,
    remove_whitespace: bool = True,
    eps_smoothing: bool = False,
    workers: int = 1,
) -> ChrfResult:
    """Sentence chrF (``word_order=0``) or chrF++ (``word_order=2``) per pair.

    Equals ``sacrebleu.sentence_chrf(cand, [ref], char_order, word_order,
    beta, remove_whitespace, eps_smoothing)``. Characters are Unicode code
    points, so CJK text is handled as sacrebleu handles it.
    """
    char_order = _int_option(char_order, "char_order")
    word_order = _int_option(word_order, "word_order")
    beta = _finite_option(beta, "beta", 0.0, " (recall weight; sacrebleu's default is 2)")
    if char_order < 0 or word_order < 0 or char_order + word_order < 1:
        raise ValueError(f"char_order and word_order must be >= 0 with a positive sum; got {char_order}, {word_order}")
    out, _ = _native(
        candidates,
        references,
        chrf=(int(char_order), int(word_order), float(beta), bool(eps_smoothing), not remove_whitespace),
        workers=workers,
    )
    name = f"chrF{beta:g}" + "+" * int(word_order)
    sig = _signature(
        name,
        nc=int(char_order),
        nw=int(word_order),
        space=not remove_whitespace,
        eps=bool(eps_smoothing),
        tok="char",
    )
    return ChrfResult(score=out["chrf"], signature=sig)


def _overlap_from(out: dict[str, np.ndarray], n: int, mode: str) -> tuple[np.ndarray, ...]:
    if mode == "set":
        d = out["distinct"][:, n - 1, :]
        inter, cc, rc = d[:, 2], d[:, 0], d[:, 1]
        union = cc + rc - inter
    else:
        g = out["ngram"][:, n - 1, :]
        inter, cc, rc = g[:, 2], g[:, 0], g[:, 1]
        union = cc + rc - inter
    j, c, cov = _ratio(inter, union), _ratio(inter, cc), _ratio(inter, rc)
    same = _same_short_text(out, n)
    if same.any():
        j[same] = c[same] = cov[same] = 1.0
    return j, c, cov, inter, cc, rc


def _same_short_text(out: dict[str, np.ndarray], n: int) -> np.ndarray:
    """Pairs of the same non-empty token sequence too short to hold an n-gram.

    Neither side has an n-gram, so every n-gram ratio is 0 / 0. Identical
    answers must score 1 on every similarity (the degree's headroom and the
    other lexical metrics assume it: ROUGE-L, BLEU and chrF give "Test" and
    "Test" full marks), so these pairs get 1; two different short texts, or
    two empty ones, keep 0. A sequence of L tokens has exactly one L-gram,
    so two sequences of L < n tokens are the same iff they share it."""
    cl, rl = out["cand_len"], out["ref_len"]
    short = (cl == rl) & (cl > 0) & (cl < n)
    if not short.any():
        return short
    order = np.clip(cl, 1, out["ngram"].shape[1]) - 1
    shared = out["ngram"][np.arange(len(cl)), order, 2]
    return short & (shared == 1)


def ngram_overlap(
    candidates: Sequence[str] | Ragged,
    references: Sequence[str] | Ragged,
    *,
    n: int = 1,
    mode: str = "set",
    tokenizer: str = "unicode",
    workers: int = 1,
) -> OverlapResult:
    """Jaccard, containment and coverage of the n-gram sets (or multisets) of each pair."""
    if not 1 <= int(n) <= 64:
        raise ValueError(f"n must be between 1 and 64; got {n}")
    if mode not in ("set", "multiset"):
        raise ValueError(f"mode must be 'set' or 'multiset'; got {mode!r}")
    out, ids = _native(
        candidates, references, tokenizer=tokenizer, word_n=int(n), distinct=mode == "set", workers=workers
    )
    j, c, cov, inter, cc, rc = _overlap_from(out, int(n), mode)
    sig = _signature("ngram_overlap", n=int(n), mode=mode, tok=_tok_sig(tokenizer, ids))
    return OverlapResult(j, c, cov, inter.copy(), cc.copy(), rc.copy(), sig)


def lexical_scores(
    candidates: Sequence[str] | Ragged,
    references: Sequence[str] | Ragged,
    metrics: Sequence[str] = ("rouge1", "rouge2", "rougeL", "chrf"),
    *,
    tokenizer: str = "unicode",
    smooth_method: str = "exp",
    smooth_value: float | None = None,
    workers: int = 1,
) -> dict[str, np.ndarray]:
    """Several lexical metrics at once: each side tokenized once, one native call.

    ``metrics`` may contain ``rouge1`` .. ``rouge64`` and ``rougeL`` (keys
    ``<type>`` = F1, ``<type>_precision``, ``<type>_recall``), ``bleu``
    (sentence BLEU on the chosen ``tokenizer``, effective order), ``chrf``
    and ``chrf++`` (sacrebleu's chrF; characters, independent of
    ``tokenizer``), and ``jaccard[N]`` / ``containment[N]`` (set overlap of
    N-grams, N = 1 by default; ``jaccard_multiset2`` etc. for multisets).
    Every array has one float64 value per pair, identical to what the
    single-metric functions return. The key ``"signature"`` is not included;
    use :func:`lexical_signature` for a record of the configuration.
    """
    if isinstance(metrics, str):
        metrics = (metrics,)
    word_n, lcs, distinct, bleu, chrf_w = 0, False, False, False, None
    rouge_types: list[str] = []
    overlaps: list[tuple[str, str, str, int]] = []
    for m in metrics:
        if m == "rougeL" or _ROUGE_RE.match(m):
            rouge_types.append(m)
        elif m == "bleu":
            bleu = True
        elif m in ("chrf", "chrf++"):
            w = 2 if m == "chrf++" else 0
            if chrf_w is not None and chrf_w != w:
                raise ValueError("request either 'chrf' or 'chrf++' in one call, not both")
            chrf_w = w
        elif _OVERLAP_RE.match(m):
            kind, mode, nn = _OVERLAP_RE.match(m).groups()  # type: ignore[union-attr]
            overlaps.append((m, kind, mode or "set", int(nn or 1)))
        else:
            raise ValueError(f"unknown metric {m!r}; choose from {LEXICAL_METRICS} (rougeN, jaccardN, containmentN)")
    if rouge_types:
        _, rn, lcs = _parse_rouge_types(rouge_types)
        word_n = max(word_n, rn)
    for _, _, mode, nn in overlaps:
        word_n = max(word_n, nn)
        distinct = distinct or mode == "set"
    sval, _ = _smooth_value(smooth_method, smooth_value)
    out, _ = _native(
        candidates,
        references,
        tokenizer=tokenizer,
        word_n=word_n,
        distinct=distinct,
        lcs=lcs,
        chrf=(6, chrf_w, 2.0, False, False) if chrf_w is not None else None,
        bleu=(4, smooth_method, sval, True) if bleu else None,
        workers=workers,
    )
    res: dict[str, np.ndarray] = {}
    for t in rouge_types:
        s = _rouge_from(out, t)
        res[t] = s.fmeasure
        res[f"{t}_precision"] = s.precision
        res[f"{t}_recall"] = s.recall
    if bleu:
        res["bleu"] = out["bleu"]
    if chrf_w is not None:
        res["chrf++" if chrf_w else "chrf"] = out["chrf"]
    for name, kind, mode, nn in overlaps:
        j, c, _, _, _, _ = _overlap_from(out, nn, mode)
        res[name] = j if kind == "jaccard" else c
    return res


def lexical_signature(
    metrics: Sequence[str],
    tokenizer: str = "unicode",
    smooth_method: str = "exp",
    smooth_value: float | None = None,
) -> str:
    """Signature string recording a :func:`lexical_scores` configuration."""
    if isinstance(metrics, str):
        metrics = (metrics,)
    _, smooth_sig = _smooth_value(smooth_method, smooth_value)
    info: dict[str, Any] = {"metrics": ",".join(metrics), "tok": _tok_sig(check_tokenizer(tokenizer), False)}
    if "bleu" in metrics:
        info["bleu"] = f"n4,eff,{smooth_sig}"
    if "chrf" in metrics or "chrf++" in metrics:
        info["chrf"] = f"nc6,nw{2 if 'chrf++' in metrics else 0},beta2"
    return _signature("lexical", **info)

"""sacrebleu's ``BLEU`` and ``CHRF`` metric objects on the native n-gram kernels.

Segment statistics come from one native call per reference stream
(``_core.text_lexical``: clipped n-gram matches, n-gram totals and lengths
for BLEU; per-order hypothesis / reference / match counts for chrF). Corpus
scores sum them and apply sacrebleu's final arithmetic (the same C++
``bleu_from_stats`` / ``chrf_from_stats`` the sentence kernels use), so
corpus and sentence scores equal sacrebleu's.

Several references per segment: chrF scores each stream natively and keeps,
per segment, the statistics of the reference with the best F (first on ties,
as sacrebleu). BLEU clips each n-gram by its largest count over the
references, which does not decompose into per-stream sums; one native call
(``_core.text_bleu_multi_stats``) takes every stream of natively tokenized
ids and does the max-count clipping and sacrebleu's closest reference length
(the shorter on ties) per segment.

Tokenizers ``13a`` (default) and ``none`` run natively; any other sacrebleu
tokenizer name (``intl``, ``zh``, ``char``, ...) is applied by sacrebleu's own
tokenizer class when sacrebleu is installed, and the counting stays native.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ... import _core

__all__ = ["BLEU", "CHRF", "BLEUScore", "CHRFScore", "Signature"]

_NATIVE_TOK = {"13a": "13a", "none": "whitespace"}
_LANG_TOK = {"zh": "zh", "ja": "ja-mecab", "ko": "ko-mecab"}


def _version() -> str:
    from ..._version import __version__

    return f"distillscope-{__version__}"


class Signature:
    """Reproducibility signature in sacrebleu's format (``nrefs:1|case:mixed|...|version:...``).

    ``version`` names distillscope's version: the numbers are distillscope's.
    """

    _ABBR = {
        "nrefs": "#",
        "case": "c",
        "eff": "e",
        "tok": "tok",
        "smooth": "s",
        "nc": "nc",
        "nw": "nw",
        "space": "s",
        "version": "v",
    }

    def __init__(self, info: dict[str, Any]) -> None:
        self.info = dict(info)
        self.info["version"] = _version()

    def format(self, short: bool = False) -> str:
        pairs = []
        for name, value in self.info.items():
            if value is None:
                continue
            if isinstance(value, bool):
                value = "yes" if value else "no"
            pairs.append(f"{self._ABBR.get(name, name) if short else name}:{value}")
        return "|".join(pairs)

    def __str__(self) -> str:
        return self.format()

    __repr__ = __str__


class _Score:
    def __init__(self, name: str, score: float) -> None:
        self.name = name
        self.score = float(score)
        self._verbose = ""

    def format(self, width: int = 2, score_only: bool = False, signature: str = "", is_json: bool = False) -> str:
        sc = f"{self.score:.{width}f}"
        if score_only:
            return sc
        if is_json:
            import json

            d: dict[str, Any] = {"name": self.name, "score": float(sc), "signature": signature}
            if self._verbose:
                d["verbose_score"] = self._verbose
            for param in signature.split("|") if signature else []:
                k, v = param.split(":", 1)
                d[k] = v
            return json.dumps(d, indent=1, ensure_ascii=False)
        full = f"{self.name}|{signature}" if signature else self.name
        full = f"{full} = {sc}"
        return f"{full} {self._verbose}" if self._verbose else full

    def __str__(self) -> str:
        return self.format()

    __repr__ = __str__


class BLEUScore(_Score):
    """BLEU with its statistics (``counts``, ``totals``, ``precisions``, ``bp``, ``sys_len``, ``ref_len``)."""

    def __init__(
        self,
        score: float,
        counts: list[int],
        totals: list[int],
        precisions: list[float],
        bp: float,
        sys_len: int,
        ref_len: int,
    ) -> None:
        super().__init__("BLEU", score)
        self.counts, self.totals, self.precisions = counts, totals, precisions
        self.bp, self.sys_len, self.ref_len = float(bp), int(sys_len), int(ref_len)
        self.ratio = self.sys_len / self.ref_len if self.ref_len else 0
        self.prec_str = "/".join(f"{p:.1f}" for p in precisions)
        self._verbose = (
            f"{self.prec_str} (BP = {self.bp:.3f} ratio = {self.ratio:.3f} "
            f"hyp_len = {self.sys_len:d} ref_len = {self.ref_len:d})"
        )


class CHRFScore(_Score):
    """chrF / chrF++ score (0..100)."""

    def __init__(self, score: float, char_order: int, word_order: int, beta: int) -> None:
        super().__init__(f"chrF{beta}" + "+" * word_order, score)
        self.char_order, self.word_order, self.beta = char_order, word_order, beta


def _as_texts(x: Any, name: str) -> list[str]:
    if isinstance(x, str):
        raise TypeError(f"{name} must be a sequence of strings, not a single str; wrap it in a list: [{name}]")
    from ...text.tokenize import as_text_list

    return as_text_list(x, name)


def _streams(references: Any, n: int) -> list[list[str | None]]:
    if references is None or isinstance(references, str):
        raise TypeError("references must be a list of reference streams, e.g. [refs] for one reference per segment")
    streams = [list(s) if not isinstance(s, str) else None for s in references]
    if not streams or any(s is None for s in streams):
        raise TypeError("references must be a list of reference streams (lists of str), e.g. [refs], not [str]")
    for k, s in enumerate(streams):
        if len(s) != n:  # type: ignore[arg-type]
            raise ValueError(f"reference stream {k} has {len(s)} segments, the hypotheses {n}")  # type: ignore[arg-type]
    return streams  # type: ignore[return-value]


class _Metric:
    num_refs: int = 0

    def _check_sentence(self, hypothesis: Any, references: Any) -> None:
        if not isinstance(hypothesis, str):
            raise TypeError(f"hypothesis must be a str; got {type(hypothesis).__name__}")
        if isinstance(references, str) or not all(isinstance(r, str) for r in references):
            raise TypeError("references must be a list of str, e.g. [ref]")

    def _record_nrefs(self, streams: list[list[str | None]]) -> None:
        counts = (
            {sum(s[i] is not None for s in streams) for i in range(len(streams[0]))} if streams[0] else {len(streams)}
        )
        if 0 in counts:
            raise ValueError("a segment has no reference (all streams are None there); drop it or give a reference")
        self.num_refs = counts.pop() if len(counts) == 1 else -1

    def _nrefs_sig(self) -> Any:
        if not self.num_refs:
            raise ValueError("Number of references unknown, please evaluate the metric first.")
        return "var" if self.num_refs == -1 else self.num_refs


class BLEU(_Metric):
    """sacrebleu's ``BLEU`` (same defaults: 13a, ``exp`` smoothing, no effective order)."""

    TOKENIZER_DEFAULT = "13a"
    SMOOTH_DEFAULTS = {"none": None, "floor": 0.1, "add-k": 1, "exp": None}

    def __init__(
        self,
        lowercase: bool = False,
        force: bool = False,
        tokenize: str | None = None,
        smooth_method: str = "exp",
        smooth_value: float | None = None,
        max_ngram_order: int = 4,
        effective_order: bool = False,
        trg_lang: str = "",
        references: Sequence[Sequence[str]] | None = None,
    ) -> None:
        if smooth_method not in self.SMOOTH_DEFAULTS:
            raise ValueError(f"smooth_method must be one of {tuple(self.SMOOTH_DEFAULTS)}; got {smooth_method!r}")
        if not 1 <= int(max_ngram_order) <= 64:
            raise ValueError(f"max_ngram_order must be between 1 and 64; got {max_ngram_order}")
        self.lowercase, self.force = bool(lowercase), force
        self.smooth_method, self.smooth_value = smooth_method, smooth_value
        self.max_ngram_order, self.effective_order, self.trg_lang = (
            int(max_ngram_order),
            bool(effective_order),
            trg_lang,
        )
        tok = tokenize if tokenize is not None else _LANG_TOK.get(trg_lang, self.TOKENIZER_DEFAULT)
        self.tokenizer_signature = tok
        self._native_tok = _NATIVE_TOK.get(tok)
        self._py_tok: Callable[[str], str] | None = None if self._native_tok else _peer_tokenizer(tok)
        self._refs = None if references is None else references

    # -- preprocessing --------------------------------------------------------
    def _prep(self, texts: list[str | None]) -> tuple[list[str], str]:
        out = [t.lower() if self.lowercase and t is not None else (t if t is not None else "") for t in texts]
        if self._py_tok is not None:
            return [self._py_tok(t.rstrip()) for t in out], "whitespace"
        return out, self._native_tok  # type: ignore[return-value]

    def _sval(self) -> float:
        d = self.SMOOTH_DEFAULTS[self.smooth_method]
        return 0.0 if d is None else float(d if self.smooth_value is None else self.smooth_value)

    # -- statistics -----------------------------------------------------------
    def segment_stats(self, hypotheses: Any, references: Any) -> np.ndarray:
        """Per-segment statistics, shape (N, 2 + 2n): sys_len, ref_len, correct[n], total[n] (sacrebleu's layout)."""
        hyps = _as_texts(hypotheses, "hypotheses")
        streams = _streams(references, len(hyps))
        self._record_nrefs(streams)
        n = self.max_ngram_order
        h, tok = self._prep(hyps)  # type: ignore[arg-type]
        if len(streams) == 1 and self.num_refs == 1:
            r, _ = self._prep(streams[0])
            out = _core.text_lexical(
                h, r, tok, n, False, False, 0, 0, 2.0, False, False, False, n, "none", 0.0, False, 1
            )
            g = out["ngram"]
            return np.concatenate([out["cand_len"][:, None], out["ref_len"][:, None], g[:, :, 2], g[:, :, 0]], axis=1)
        return self._multi_ref_stats(h, tok, streams)

    def _multi_ref_stats(self, h: list[str], tok: str, streams: list[list[str | None]]) -> np.ndarray:
        hv, ho = _core.text_tokenize(h, tok, 1, False)
        ids, offs = [], []
        present = np.ones((len(streams), len(h)), dtype=np.uint8)
        for k, s in enumerate(streams):
            r, _ = self._prep(s)
            rv, ro = _core.text_tokenize(r, tok, 1, False)
            ids.append(rv)
            offs.append(ro)
            present[k] = [t is not None for t in s]
        return _core.text_bleu_multi_stats(hv, ho, ids, offs, present, self.max_ngram_order, 1)

    def _from_stats(self, s: np.ndarray) -> BLEUScore:
        n = self.max_ngram_order
        correct = np.ascontiguousarray(s[2 : 2 + n], dtype=np.int64)
        total = np.ascontiguousarray(s[2 + n :], dtype=np.int64)
        score, bp = _core.text_bleu_from_stats(
            correct, total, int(s[0]), int(s[1]), self.smooth_method, self._sval(), self.effective_order
        )
        prec, counts, totals = _precisions(correct, total, self.smooth_method, self._sval())
        return BLEUScore(score, counts, totals, prec, bp, int(s[0]), int(s[1]))

    # -- sacrebleu API --------------------------------------------------------
    def corpus_score(
        self, hypotheses: Sequence[str], references: Sequence[Sequence[str]] | None, n_bootstrap: int = 1
    ) -> BLEUScore:
        if n_bootstrap != 1:
            raise NotImplementedError("n_bootstrap is not supported by distillscope.compat; use sacrebleu for CIs")
        refs = references if references is not None else self._refs
        return self._from_stats(self.segment_stats(hypotheses, refs).sum(axis=0))

    def sentence_score(self, hypothesis: str, references: Sequence[str]) -> BLEUScore:
        self._check_sentence(hypothesis, references)
        return self._from_stats(self.segment_stats([hypothesis], [[r] for r in references])[0])

    def get_signature(self) -> Signature:
        smooth = self.smooth_method
        if self.SMOOTH_DEFAULTS[smooth] is not None:
            smooth += f"[{self._sval():.2f}]"
        return Signature(
            {
                "nrefs": self._nrefs_sig(),
                "case": "lc" if self.lowercase else "mixed",
                "eff": "yes" if self.effective_order else "no",
                "tok": self.tokenizer_signature,
                "smooth": smooth,
            }
        )


def _precisions(correct: np.ndarray, total: np.ndarray, method: str, sval: float) -> tuple[list, list, list]:
    """Precisions as sacrebleu reports them, and its counts/totals (add-k adds k to them in place, so do we)."""
    counts: list = [int(c) for c in correct]
    totals: list = [int(t) for t in total]
    prec = [0.0] * len(counts)
    if not any(counts):
        return prec, counts, totals
    smooth_mteval = 1.0
    for k in range(len(counts)):
        if method == "add-k" and k > 0:
            counts[k] += sval
            totals[k] += sval
        if totals[k] == 0:
            break
        if counts[k] == 0:
            if method == "exp":
                smooth_mteval *= 2
                prec[k] = 100.0 / (smooth_mteval * totals[k])
            elif method == "floor":
                prec[k] = 100.0 * sval / totals[k]
        else:
            prec[k] = 100.0 * counts[k] / totals[k]
    return prec, counts, totals


def _peer_tokenizer(name: str) -> Callable[[str], str]:
    try:
        from sacrebleu.metrics.bleu import _get_tokenizer  # the peer's own tokenizer classes
    except ImportError:
        raise ValueError(
            f"tokenize={name!r} is not native (native: '13a', 'none'); install sacrebleu to use its tokenizers"
        ) from None
    try:
        return _get_tokenizer(name)()
    except KeyError:
        raise ValueError(f"unknown tokenize={name!r}; native: '13a', 'none'") from None


class CHRF(_Metric):
    """sacrebleu's ``CHRF`` (chrF2 by default; ``word_order=2`` is chrF++)."""

    CHAR_ORDER, WORD_ORDER, BETA = 6, 0, 2

    def __init__(
        self,
        char_order: int = CHAR_ORDER,
        word_order: int = WORD_ORDER,
        beta: int = BETA,
        lowercase: bool = False,
        whitespace: bool = False,
        eps_smoothing: bool = False,
        references: Sequence[Sequence[str]] | None = None,
    ) -> None:
        if char_order < 0 or word_order < 0 or not 1 <= char_order + word_order <= 64:
            raise ValueError(
                f"char_order and word_order must be >= 0 with a sum in 1..64; got {char_order}, {word_order}"
            )
        self.char_order, self.word_order, self.beta = int(char_order), int(word_order), beta
        self.order = self.char_order + self.word_order
        self.lowercase, self.whitespace, self.eps_smoothing = bool(lowercase), bool(whitespace), bool(eps_smoothing)
        self._refs = references

    def segment_stats(self, hypotheses: Any, references: Any) -> np.ndarray:
        """Per-segment statistics, shape (N, 3 * order): per order hyp, ref, match (sacrebleu's layout)."""
        hyps = _as_texts(hypotheses, "hypotheses")
        streams = _streams(references, len(hyps))
        self._record_nrefs(streams)
        low = (lambda t: t.lower()) if self.lowercase else (lambda t: t)
        h = [low(t) for t in hyps]
        best_f = np.full(len(h), -np.inf)
        best = np.zeros((len(h), self.order, 3), dtype=np.int64)
        for s in streams:
            r = [low(t) if t is not None else "" for t in s]
            out = _core.text_lexical(
                h,
                r,
                "unicode",
                0,
                False,
                False,
                self.char_order,
                self.word_order,
                float(self.beta),
                self.eps_smoothing,
                self.whitespace,
                False,
                4,
                "none",
                0.0,
                False,
                1,
            )
            f = np.where([t is not None for t in s], out["chrf"], -np.inf)
            take = f > best_f
            best[take] = out["chrf_stats"][take]
            best_f = np.where(take, f, best_f)
        return best.reshape(len(h), 3 * self.order)

    def _from_stats(self, s: np.ndarray) -> CHRFScore:
        st = np.ascontiguousarray(np.asarray(s, dtype=np.int64).reshape(self.order, 3))
        score = _core.text_chrf_from_stats(st, float(self.beta), self.eps_smoothing)
        return CHRFScore(score, self.char_order, self.word_order, self.beta)

    def corpus_score(
        self, hypotheses: Sequence[str], references: Sequence[Sequence[str]] | None, n_bootstrap: int = 1
    ) -> CHRFScore:
        if n_bootstrap != 1:
            raise NotImplementedError("n_bootstrap is not supported by distillscope.compat; use sacrebleu for CIs")
        refs = references if references is not None else self._refs
        return self._from_stats(self.segment_stats(hypotheses, refs).sum(axis=0))

    def sentence_score(self, hypothesis: str, references: Sequence[str]) -> CHRFScore:
        self._check_sentence(hypothesis, references)
        return self._from_stats(self.segment_stats([hypothesis], [[r] for r in references])[0])

    def get_signature(self) -> Signature:
        return Signature(
            {
                "nrefs": self._nrefs_sig(),
                "case": "lc" if self.lowercase else "mixed",
                "eff": "yes" if not self.eps_smoothing else "no",
                "nc": self.char_order,
                "nw": self.word_order,
                "space": "yes" if self.whitespace else "no",
            }
        )

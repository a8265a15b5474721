"""Tokenization into ragged arrays of stable 64-bit token ids.

Tokenizers (all implemented in C++ over UTF-8, one call per batch):

``"unicode"`` (default)
    Lower-cased runs of letters, combining marks and digits; every CJK
    ideograph, kana and hangul syllable is its own token; every other
    punctuation mark or symbol is its own token; ``3.14`` and ``1,000`` stay
    one token; full-width ASCII (``ＧＰＴ４``) is folded to ASCII. Character
    classes and case mappings follow the Unicode Character Database of the
    Python that generated ``csrc/kernels/text_unicode_tables.hpp``
    (see :func:`unicode_version`). No other normalization (NFC/NFKC) is
    applied.
``"rouge"``
    Exactly rouge-score's default tokenizer (``use_stemmer=False``):
    Python ``str.lower()``, then runs of ``[a-z0-9]``; all non-ASCII text is
    dropped, as rouge-score does.
``"13a"``
    Exactly sacrebleu's default BLEU tokenizer (mteval-v13a), including the
    ``rstrip``, ``<skipped>``/``-\\n`` removal and HTML entity replacements.
``"whitespace"``
    Split on Python whitespace only (sacrebleu's ``"none"``).

Token ids are a stable 64-bit hash (written for this project, see
``hash_bytes`` in ``csrc/kernels/text_utf8.hpp``) of the token's
normalized UTF-8 bytes: the same token has the same id in every call,
process, worker count and batch split, so ids from separate calls can be
compared. Two distinct tokens share an id with probability about 2**-64 per
pair of tokens. All n-gram counting downstream of the ids is exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import _core
from .._ragged import Ragged
from ..kernels import check_workers

__all__ = ["TOKENIZERS", "tokenize", "token_strings", "unicode_version", "as_token_ids", "as_text_list"]

TOKENIZERS = ("unicode", "rouge", "13a", "whitespace")


def check_tokenizer(tokenizer: str) -> str:
    if tokenizer == "none":
        return "whitespace"
    if tokenizer not in TOKENIZERS:
        raise ValueError(f"tokenizer must be one of {TOKENIZERS}; got {tokenizer!r}")
    return tokenizer


def as_text_list(texts: Any, name: str = "texts") -> Any:
    """Texts in a form the native kernels read: lists and tuples pass through.

    Also accepted: numpy ``str_`` (``U``) or object arrays (passed through,
    no copy of the strings), pandas ``Series`` / ``Index`` (their numpy
    values), pyarrow ``Array`` / ``ChunkedArray`` of strings (converted once
    to a numpy object array; Arrow's UTF-8 buffers are not read in place) and
    any other iterable of str. Missing values (``None``, NaN, Arrow nulls)
    are reported by the kernels with the row index.
    """
    if isinstance(texts, (list, tuple, np.ndarray)):
        if isinstance(texts, np.ndarray) and texts.ndim != 1:
            raise ValueError(f"{name} must be 1-D; got an array of shape {texts.shape} (use .ravel())")
        return texts
    if isinstance(texts, (str, bytes)):
        return texts  # the kernels reject it with a message saying to wrap it in a list
    mod = type(texts).__module__.split(".")[0]
    if mod == "pyarrow":
        if hasattr(texts, "combine_chunks"):
            texts = texts.combine_chunks()
        return texts.to_numpy(zero_copy_only=False)
    if mod == "pandas" and hasattr(texts, "to_numpy"):
        return texts.to_numpy(dtype=object)
    return texts


def tokenize(texts: Sequence[str], tokenizer: str = "unicode", *, workers: int = 1) -> Ragged:
    """Tokenize a batch of texts into a :class:`Ragged` of ``uint64`` token ids.

    ``texts`` is a sequence of ``str`` (UTF-8 ``bytes`` rows are accepted and
    validated). Row ``i`` of the result holds the ids of ``texts[i]``.
    """
    tok = check_tokenizer(tokenizer)
    ids, offsets = _core.text_tokenize(as_text_list(texts), tok, check_workers(workers), False)
    return Ragged(ids, offsets)


def token_strings(texts: Sequence[str], tokenizer: str = "unicode", *, workers: int = 1) -> list[list[str]]:
    """The normalized token strings that :func:`tokenize` hashes (for inspection and tests)."""
    tok = check_tokenizer(tokenizer)
    _, offsets, data, soff = _core.text_tokenize(as_text_list(texts), tok, check_workers(workers), True)
    words = [data[soff[i] : soff[i + 1]].decode("utf-8") for i in range(len(soff) - 1)]
    return [words[offsets[i] : offsets[i + 1]] for i in range(len(offsets) - 1)]


def unicode_version() -> str:
    """Unicode version of the character tables compiled into the "unicode" tokenizer."""
    return str(_core.text_unicode_version())


def as_token_ids(x: Ragged, name: str = "ids") -> tuple[np.ndarray, np.ndarray]:
    """Pre-tokenized input (e.g. ids from HF ``tokenizers``) as ``(uint64 values, int64 offsets)``.

    Any integer dtype is accepted; ids are compared for equality only, so
    signed ids are reinterpreted (not clipped) as unsigned.
    """
    if not isinstance(x, Ragged):
        raise TypeError(f"{name} must be a distillscope.Ragged of integer token ids; got {type(x).__name__}")
    v = np.asarray(x.values)
    if v.ndim != 1 or v.dtype.kind not in "iu":
        raise TypeError(
            f"{name}.values must be a 1-D integer array (token ids); got dtype {v.dtype} and shape {v.shape}"
        )
    if v.dtype != np.uint64:
        v = v.astype(np.int64, copy=False).view(np.uint64) if v.dtype.kind == "i" else v.astype(np.uint64)
    return np.ascontiguousarray(v), np.ascontiguousarray(x.offsets)

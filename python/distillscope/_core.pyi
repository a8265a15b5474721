# Hand-written stubs of the compiled module distillscope._core (csrc/bindings).
# Use the validated wrappers in distillscope.kernels / lexical / align instead.
from typing import Literal, overload

import numpy as np
import numpy.typing as npt

__version__: str

_F32 = npt.NDArray[np.float32]
_I64 = npt.NDArray[np.int64]

# ---- dense (register_dense.cpp)
def detected_isa() -> Literal["scalar", "avx2", "avx512"]: ...
def active_isa() -> Literal["scalar", "avx2", "avx512"]: ...
def set_isa_cap(isa: str) -> None: ...
def cosine_paired(a: np.ndarray, b: np.ndarray, *, workers: int = 1) -> _F32: ...
def cosine_grouped(
    a: _F32,
    a_offsets: _I64,
    b: _F32,
    b_offsets: _I64,
    *,
    reduce: Literal["mean", "max", "precision", "recall", "f1", "matched"] = "mean",
    workers: int = 1,
) -> _F32: ...
def cosine_topk(queries: _F32, corpus: _F32, k: int, *, workers: int = 1) -> tuple[_F32, _I64]: ...
def l2_normalize(x: _F32, *, workers: int = 1) -> _F32: ...

# ---- alignment (register_align.cpp): precision, recall, f1, order, coverage per group
def align_grouped(
    a: _F32,
    a_offsets: _I64,
    b: _F32,
    b_offsets: _I64,
    *,
    a_weights: _F32 | None = None,
    b_weights: _F32 | None = None,
    threshold: float = 0.5,
    workers: int = 1,
) -> tuple[_F32, _F32, _F32, _F32, _F32]: ...

# ---- text (register_text.cpp)
@overload
def text_tokenize(
    texts: object, tokenizer: str, workers: int = 1, with_strings: Literal[False] = False
) -> tuple[npt.NDArray[np.uint64], _I64]: ...
@overload
def text_tokenize(
    texts: object, tokenizer: str, workers: int, with_strings: Literal[True]
) -> tuple[npt.NDArray[np.uint64], _I64, bytes, _I64]: ...
def text_lexical(
    candidates: object,
    references: object,
    tokenizer: str,
    word_n: int,
    distinct: bool,
    lcs: bool,
    chrf_char_order: int,
    chrf_word_order: int,
    chrf_beta: float,
    chrf_eps_smoothing: bool,
    chrf_whitespace: bool,
    bleu: bool,
    bleu_order: int,
    smooth: str,
    smooth_value: float,
    effective_order: bool,
    workers: int = 1,
) -> dict[str, np.ndarray]: ...
def text_bleu_from_stats(
    correct: npt.NDArray[np.int64],
    total: npt.NDArray[np.int64],
    sys_len: int,
    ref_len: int,
    smooth: str,
    smooth_value: float,
    effective_order: bool,
) -> tuple[float, float]: ...
def text_bleu_multi_stats(
    hyp_ids: npt.NDArray[np.uint64],
    hyp_offsets: _I64,
    ref_ids: list[npt.NDArray[np.uint64]],
    ref_offsets: list[_I64],
    present: npt.NDArray[np.uint8] | None = None,
    order: int = 4,
    workers: int = 1,
) -> _I64: ...
def text_chrf_from_stats(stats: npt.NDArray[np.int64], beta: float, eps_smoothing: bool) -> float: ...
def text_lcs_summary_hits(
    ref_ids: npt.NDArray[np.uint64],
    ref_sent_off: _I64,
    ref_pair_off: _I64,
    cand_ids: npt.NDArray[np.uint64],
    cand_sent_off: _I64,
    cand_pair_off: _I64,
    workers: int = 1,
) -> _I64: ...
def text_unicode_version() -> str: ...

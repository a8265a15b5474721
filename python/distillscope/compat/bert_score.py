"""Drop-in for ``from bert_score import score``: BERTScore without PyTorch.

``score(cands, refs, model_type=..., num_layers=..., idf=False, batch_size=64,
lang=None, ...)`` returns ``(P, R, F)`` as float64 numpy arrays (bert-score
returns torch tensors; ``np.asarray`` / ``torch.from_numpy`` convert). The
encoder is distillscope's ONNX graph of any BERT-like model directory
(``model.safetensors`` + ``config.json`` + ``tokenizer.json``) or known name;
the definition, idf and greedy matching are bert-score's, see
:mod:`distillscope.text.bertscore`. ``refs`` may hold one reference per
candidate or a list of references each; with several, P, R and F are each
the maximum over the references (as bert-score does).

Not available: ``rescale_with_baseline`` (needs bert-score's baseline
files), ``all_layers``, and a default model per ``lang``: without
``model_type`` the default is all-MiniLM-L6-v2 for every language (bert-score
would pick roberta-large for English), so pass ``model_type`` for numbers
comparable with published BERTScores.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..text.bertscore import bert_score
from ..text.tokenize import as_text_list

__all__ = ["score"]


def score(
    cands: Sequence[str],
    refs: Sequence[Any],
    model_type: str | None = None,
    num_layers: int | None = None,
    verbose: bool = False,
    idf: bool = False,
    device: Any = None,
    batch_size: int = 64,
    nthreads: int = 4,
    all_layers: bool = False,
    lang: str | None = None,
    return_hash: bool = False,
    rescale_with_baseline: bool = False,
    baseline_path: str | None = None,
    use_fast_tokenizer: bool = False,
) -> Any:
    """bert-score's ``score``; see the module docstring."""
    if rescale_with_baseline or baseline_path is not None:
        raise NotImplementedError("rescale_with_baseline needs bert-score's baseline files; use bert-score for it")
    if all_layers:
        raise NotImplementedError("all_layers=True is not supported; pick one layer with num_layers")
    if device not in (None, "cpu"):
        raise ValueError(f"device={device!r}: distillscope's encoder runs on CPU (onnxruntime); use device='cpu'")
    cands = list(as_text_list(cands, "cands"))
    refs = list(as_text_list(refs, "refs"))
    if len(cands) != len(refs):
        raise ValueError(f"cands and refs must have the same length; got {len(cands)} and {len(refs)}")
    multi = bool(refs) and not isinstance(refs[0], str)
    if multi:
        groups = [list(r) for r in refs]
        if any(not g for g in groups):
            raise ValueError("every candidate needs at least one reference")
        flat_c = [c for c, g in zip(cands, groups) for _ in g]
        flat_r = [r for g in groups for r in g]
    else:
        flat_c, flat_r = cands, refs
    res = bert_score(flat_c, flat_r, model=model_type, layer=num_layers, idf=idf, batch_size=batch_size)
    p, r, f = res.precision, res.recall, res.f1
    if multi:
        ends = np.cumsum([len(g) for g in groups])
        starts = ends - np.array([len(g) for g in groups])
        p, r, f = (np.maximum.reduceat(x, starts) if len(x) else x for x in (p, r, f))
    if verbose:
        print(f"BERTScore ({res.signature}): {len(cands)} pairs")
    out = (p, r, f)
    return (out, res.signature) if return_hash else out

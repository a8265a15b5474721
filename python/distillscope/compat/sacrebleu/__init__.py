"""Drop-in for ``import sacrebleu``: ``sentence_bleu``, ``corpus_bleu``, ``sentence_chrf``,
``corpus_chrf`` and ``metrics.BLEU`` / ``metrics.CHRF``, same signatures and defaults.

``from distillscope.compat import sacrebleu`` then ``sacrebleu.corpus_bleu(hyps, [refs]).score``
equals sacrebleu's value (tests/compat/test_sacrebleu_parity.py). The statistics are
counted by the native kernels; see :mod:`distillscope.compat.sacrebleu.metrics`.
"""

from __future__ import annotations

from collections.abc import Sequence

from . import metrics
from .metrics import BLEU, CHRF, BLEUScore, CHRFScore

__all__ = [
    "metrics",
    "BLEU",
    "CHRF",
    "BLEUScore",
    "CHRFScore",
    "sentence_bleu",
    "corpus_bleu",
    "sentence_chrf",
    "corpus_chrf",
]


def corpus_bleu(
    hypotheses: Sequence[str],
    references: Sequence[Sequence[str]],
    smooth_method: str = "exp",
    smooth_value: float | None = None,
    force: bool = False,
    lowercase: bool = False,
    tokenize: str = BLEU.TOKENIZER_DEFAULT,
    use_effective_order: bool = False,
) -> BLEUScore:
    """Corpus BLEU of ``hypotheses`` against one or more reference streams (``[refs]`` or ``[refs1, refs2]``)."""
    m = BLEU(
        lowercase=lowercase,
        force=force,
        tokenize=tokenize,
        smooth_method=smooth_method,
        smooth_value=smooth_value,
        effective_order=use_effective_order,
    )
    return m.corpus_score(hypotheses, references)


def sentence_bleu(
    hypothesis: str,
    references: Sequence[str],
    smooth_method: str = "exp",
    smooth_value: float | None = None,
    lowercase: bool = False,
    tokenize: str = BLEU.TOKENIZER_DEFAULT,
    use_effective_order: bool = True,
) -> BLEUScore:
    """BLEU of one sentence against one or more references (a list of str)."""
    m = BLEU(
        lowercase=lowercase,
        tokenize=tokenize,
        smooth_method=smooth_method,
        smooth_value=smooth_value,
        effective_order=use_effective_order,
    )
    return m.sentence_score(hypothesis, references)


def corpus_chrf(
    hypotheses: Sequence[str],
    references: Sequence[Sequence[str]],
    char_order: int = CHRF.CHAR_ORDER,
    word_order: int = CHRF.WORD_ORDER,
    beta: int = CHRF.BETA,
    remove_whitespace: bool = True,
    eps_smoothing: bool = False,
) -> CHRFScore:
    """Corpus chrF (chrF++ with ``word_order=2``) against one or more reference streams."""
    m = CHRF(
        char_order=char_order,
        word_order=word_order,
        beta=beta,
        whitespace=not remove_whitespace,
        eps_smoothing=eps_smoothing,
    )
    return m.corpus_score(hypotheses, references)


def sentence_chrf(
    hypothesis: str,
    references: Sequence[str],
    char_order: int = CHRF.CHAR_ORDER,
    word_order: int = CHRF.WORD_ORDER,
    beta: int = CHRF.BETA,
    remove_whitespace: bool = True,
    eps_smoothing: bool = False,
) -> CHRFScore:
    """chrF of one sentence against one or more references (a list of str)."""
    m = CHRF(
        char_order=char_order,
        word_order=word_order,
        beta=beta,
        whitespace=not remove_whitespace,
        eps_smoothing=eps_smoothing,
    )
    return m.sentence_score(hypothesis, references)

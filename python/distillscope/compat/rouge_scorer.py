"""Drop-in for ``from rouge_score import rouge_scorer``, on distillscope's native kernels.

``RougeScorer(rouge_types, use_stemmer=False, split_summaries=False, tokenizer=None)``
with ``score(target, prediction)`` and ``score_multi(targets, prediction)``
returning ``{rouge_type: Score(precision, recall, fmeasure)}`` exactly as
rouge-score does (same argument order: target first), plus
``score_batch(targets, predictions)`` that scores whole lists in one native
call and returns float64 arrays. ``rougeLsum`` is supported.

The default tokenizer is rouge-score's (lower-case, runs of ``[a-z0-9]``,
Porter stemming of tokens longer than 3 characters with ``use_stemmer=True``
through NLTK). A custom ``tokenizer`` is any object with a
``tokenize(text) -> list[str]`` method, as in rouge-score; its tokens are
mapped to ids in Python and counted natively.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from .._ragged import Ragged
from ..text.lexical import RougeScore, rouge_scores
from ..text.rouge_lsum import lsum_from_ids, split_sentences
from ..text.tokenize import as_text_list

__all__ = ["RougeScorer", "Score"]


class Score(NamedTuple):
    """rouge-score's ``Score`` tuple."""

    precision: float
    recall: float
    fmeasure: float


class _Vocab:
    """Token string -> stable small id, for custom tokenizers."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self.ids: dict[str, int] = {}

    def ragged(self, texts: Sequence[str]) -> Ragged:
        rows = [[self.ids.setdefault(t, len(self.ids)) for t in self.tokenizer.tokenize(x)] for x in texts]
        return Ragged.from_rows(rows, dtype=np.int64)


class RougeScorer:
    """rouge-score's ``RougeScorer``; see the module docstring."""

    def __init__(
        self,
        rouge_types: Sequence[str],
        use_stemmer: bool = False,
        split_summaries: bool = False,
        tokenizer: Any = None,
    ) -> None:
        if isinstance(rouge_types, str):
            rouge_types = [rouge_types]
        self.rouge_types = list(rouge_types)
        if tokenizer is not None and not callable(getattr(tokenizer, "tokenize", None)):
            raise TypeError("tokenizer must have a tokenize(text) -> list[str] method, as in rouge-score")
        self._tokenizer = tokenizer
        self._use_stemmer = bool(use_stemmer)
        self._split_summaries = bool(split_summaries)
        rouge_scores(["a"], ["a"], rouge_types=self.rouge_types, tokenizer="rouge")  # validates the type names

    def score_batch(
        self, targets: Sequence[str], predictions: Sequence[str], *, workers: int = 1
    ) -> dict[str, RougeScore]:
        """Scores ``predictions[i]`` against ``targets[i]`` for all i: float64 arrays per type."""
        targets = as_text_list(targets, "targets")
        predictions = as_text_list(predictions, "predictions")
        if len(targets) != len(predictions):
            raise ValueError(
                f"targets and predictions must have the same length; got {len(targets)} and {len(predictions)}"
            )
        if self._tokenizer is None:
            res = rouge_scores(
                predictions,
                targets,
                rouge_types=self.rouge_types,
                tokenizer="rouge",
                use_stemmer=self._use_stemmer,
                split_summaries=self._split_summaries,
                workers=workers,
            )
            return dict(res.scores)
        vocab = _Vocab(self._tokenizer)
        out: dict[str, RougeScore] = {}
        plain = [t for t in self.rouge_types if t != "rougeLsum"]
        if plain:
            res = rouge_scores(vocab.ragged(predictions), vocab.ragged(targets), rouge_types=plain, workers=workers)
            out.update(res.scores)
        if "rougeLsum" in self.rouge_types:
            cs, co = split_sentences(predictions, self._split_summaries)
            rs, ro = split_sentences(targets, self._split_summaries)
            out["rougeLsum"] = RougeScore(*lsum_from_ids(vocab.ragged(cs), co, vocab.ragged(rs), ro, workers))
        return {t: out[t] for t in self.rouge_types}

    def score(self, target: str, prediction: str) -> dict[str, Score]:
        """rouge-score's ``score(target, prediction)``."""
        _check_str(target, "target")
        _check_str(prediction, "prediction")
        res = self.score_batch([target], [prediction])
        return {t: Score(float(s.precision[0]), float(s.recall[0]), float(s.fmeasure[0])) for t, s in res.items()}

    def score_multi(self, targets: Sequence[str], prediction: str) -> dict[str, Score]:
        """rouge-score's ``score_multi``: per type, the target with the best F-measure (first on ties)."""
        _check_str(prediction, "prediction")
        targets = list(as_text_list(targets, "targets"))
        if not targets:
            raise ValueError("targets is empty; pass at least one target text")
        res = self.score_batch(targets, [prediction] * len(targets))
        out = {}
        for t, s in res.items():
            i = int(np.argmax(s.fmeasure))
            out[t] = Score(float(s.precision[i]), float(s.recall[i]), float(s.fmeasure[i]))
        return out


def _check_str(x: Any, name: str) -> None:
    if not isinstance(x, str):
        raise TypeError(f"{name} must be a str; got {type(x).__name__} (use score_batch for lists)")

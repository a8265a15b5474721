"""``distillscope score-pairs`` (temporary re-export while the layout moves)."""

from ..scale.scoring import configure_score_pairs, run_score_pairs

__all__ = ["configure_score_pairs", "run_score_pairs"]

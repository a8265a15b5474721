"""``distillscope judge`` (temporary re-export while the layout moves)."""

from ..judge.pairs import configure_judge, run_judge

__all__ = ["configure_judge", "run_judge"]

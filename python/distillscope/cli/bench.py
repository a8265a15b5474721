"""``distillscope bench`` (temporary re-export while the layout moves)."""

from ..scale.bench import configure_bench, run_bench

__all__ = ["configure_bench", "run_bench"]

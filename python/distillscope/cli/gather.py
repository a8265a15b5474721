"""``distillscope gather`` (temporary re-export while the layout moves)."""

from ..gather.run import configure_gather, run_gather

__all__ = ["configure_gather", "run_gather"]

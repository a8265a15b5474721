"""``distillscope serve-sim`` (temporary re-export while the layout moves)."""

from ..gather.simserver import configure_serve_sim, run_serve_sim

__all__ = ["configure_serve_sim", "run_serve_sim"]

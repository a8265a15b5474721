"""``distillscope model`` (temporary re-export while the layout moves)."""

from ..embed.models import configure_model, run_model

__all__ = ["configure_model", "run_model"]

"""``distillscope import`` (temporary re-export while the layout moves)."""

from ..store.importers import configure_import, run_import

__all__ = ["configure_import", "run_import"]

"""``distillscope identity`` (temporary re-export while the layout moves)."""

from ..identity.core import configure_identity, run_identity

__all__ = ["configure_identity", "run_identity"]

"""``trust.agreements`` (the facade imports it from here)."""

from accord.agreements.lifecycle.service import Agreements

__all__ = ["Agreements"]

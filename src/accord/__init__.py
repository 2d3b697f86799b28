"""Accord: a data trust for the public sector."""

from accord.errors import AccordError
from accord.trust import Trust

__version__ = "0.1.0"
__all__ = ["AccordError", "Trust", "__version__"]

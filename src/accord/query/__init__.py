"""Queries under agreements: the three locks, releases and opt-outs (``trust.queries``)."""

from accord.query.release import Release
from accord.query.service import Queries

__all__ = ["Queries", "Release"]

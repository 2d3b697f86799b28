"""Ingest: read a member's file, check it against its contract, store an immutable version.

Rows that break the contract go to quarantine with their row number, field and reason; the
good rows become the new version. A file that cannot be read changes nothing.
"""

from accord.ingest.results import IngestResult, ReasonCount
from accord.ingest.rules import RULES, Finding, Target, register_rule
from accord.ingest.service import Ingest

__all__ = ["RULES", "Finding", "Ingest", "IngestResult", "ReasonCount", "Target", "register_rule"]

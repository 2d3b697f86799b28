"""The refusal a recipient sees when a query, its plan or its answer breaks the agreement."""

from __future__ import annotations

from accord.errors import PermissionDenied


class QueryRefused(PermissionDenied):
    """A query refused on security grounds; ``reason`` says why in words a user understands.

    ``lock`` names the check that refused it: ``agreement`` (no valid grant), ``before`` (the
    SQL), ``during`` (the engine) or ``after`` (the answer).
    """

    code = "query-refused"

    def __init__(self, reason: str, *, lock: str = "before", details: list[str] | None = None):
        super().__init__(f"Query refused: {reason}", details=details)
        self.reason = reason
        self.lock = lock

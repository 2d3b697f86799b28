"""What an ingest hands back: plain pydantic values shared by the CLI, API and web."""

from __future__ import annotations

from pydantic import BaseModel


class ReasonCount(BaseModel):
    """How many quarantine lines one rule produced on one field."""

    field: str
    rule: str
    reason: str
    rows: int

    @property
    def label(self) -> str:
        return f"{self.field}: {self.reason}"


class IngestResult(BaseModel):
    """The outcome of one ingest: the version it made and what was quarantined."""

    ref: str
    version: int
    mode: str
    source: str
    format: str
    encoding: str | None = None
    delimiter: str | None = None
    rows_read: int
    rows_accepted: int
    rows_quarantined: int
    row_count: int
    reasons: list[ReasonCount] = []
    missing_columns: list[str] = []
    ignored_columns: list[str] = []
    seconds: float = 0.0

    def reason_counts(self) -> dict[str, int]:
        """``{"field: reason": lines}``, as recorded in the ``dataset.rows-quarantined`` event."""
        return {r.label: r.rows for r in self.reasons}

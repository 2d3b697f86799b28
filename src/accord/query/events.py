"""Events of the query service: every release, every refusal, every opt-out."""

from __future__ import annotations

from typing import ClassVar

from accord.events import Event


class ReleaseMade(Event):
    """An answer left the trust."""

    kind: ClassVar[str] = "query.release-made"
    release_id: str
    member: str  # the recipient
    user: str
    agreement: str
    agreement_version: int
    purpose: str
    sql: str
    columns: list[str]
    output: str  # "record-level" or "aggregate"
    rows_out: int
    people: int  # distinct contributors recorded
    checksum: str  # SHA-256 of the released table (Arrow IPC)
    cells_changed: int = 0


class QueryRefused(Event):
    """A query was refused; ``reason`` is what the caller was told."""

    kind: ClassVar[str] = "query.refused"
    member: str | None
    user: str
    agreement: str
    purpose: str
    sql: str
    lock: str  # agreement, before, during, after
    reason: str


class OptOutRecorded(Event):
    kind: ClassVar[str] = "optout.recorded"
    source: str
    by_nhs_number: bool
    by_person_key: bool


class OptOutsImported(Event):
    kind: ClassVar[str] = "optout.imported"
    source: str
    dataset: str
    version: int
    added: int
    already_known: int

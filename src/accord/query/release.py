"""A release: one answer that left the trust, and the record kept of it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from accord.errors import InvalidInput
from accord.policy.sdc import CellChange
from accord.query.events import ReleaseMade

CONTRIBUTORS_SCHEMA = pa.schema(
    [
        ("cell", pa.int64()),  # output row (record-level) or cell (aggregate)
        ("dataset", pa.string()),
        ("version", pa.int64()),
        ("record_key", pa.string()),
        ("person_key", pa.string()),  # trust-wide; null when the agreement links nothing
    ]
)


@dataclass
class Release:
    """What a recipient gets back: the table, and what was done to it and why.

    Examples:
        >>> release = trust.queries.ask("ana@islington.gov.uk", "fsm-2026", "fsm-support",
        ...     "SELECT name, address FROM camden.school_census WHERE fsm")  # doctest: +SKIP
        >>> release.table.num_rows  # doctest: +SKIP
        42
    """

    id: str
    made_at: datetime
    user: str
    member: str
    agreement: str
    agreement_version: int
    purpose: str
    sql: str
    columns: list[str]  # "member/dataset.field" the query read
    output: str  # "record-level" or "aggregate"
    table: pa.Table
    people: int
    checksum: str
    changes: list[CellChange] = field(default_factory=list)
    contributors_path: Path | None = None

    @classmethod
    def of(
        cls,
        event: ReleaseMade,
        *,
        made_at: datetime,
        table: pa.Table,
        changes: list[CellChange],
        path: Path,
    ) -> Release:
        """What the recipient gets back, from the release's event (the same facts)."""
        return cls(
            id=event.release_id,
            made_at=made_at,
            user=event.user,
            member=event.member,
            agreement=event.agreement,
            agreement_version=event.agreement_version,
            purpose=event.purpose,
            sql=event.sql,
            columns=event.columns,
            output=event.output,
            table=table,
            people=event.people,
            checksum=event.checksum,
            changes=changes,
            contributors_path=path,
        )

    @property
    def rows_out(self) -> int:
        return self.table.num_rows

    def to_pylist(self) -> list[dict[str, object]]:
        return self.table.to_pylist()

    def write(self, path: Path | str) -> Path:
        """Write the released table as ``.csv`` or ``.parquet`` (by the file's suffix)."""
        path = Path(path)
        if path.suffix.lower() == ".parquet":
            pq.write_table(self.table, path)
        elif path.suffix.lower() == ".csv":
            pacsv.write_csv(self.table, path)
        else:
            raise InvalidInput(f"{path.name}: write the answer to a .csv or .parquet file")
        return path


def checksum(table: pa.Table) -> str:
    """SHA-256 of the released table in Arrow IPC form."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()

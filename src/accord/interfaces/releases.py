"""A release as the API and the web hand it out: its record, its notes, its table as a file."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any, Literal

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from pydantic import BaseModel, Field

from accord.interfaces.tables import as_records
from accord.query.release import Release

Format = Literal["json", "csv", "parquet"]
MEDIA_TYPES = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet"}


class DisclosureNote(BaseModel):
    """One cell changed by disclosure control, and why."""

    row: int
    column: str
    action: str
    rule: str
    reason: str


class QueryRequest(BaseModel):
    agreement: str = Field(examples=["fsm-camden-islington"])
    purpose: str = Field(examples=["fsm-support"])
    sql: str = Field(min_length=1, max_length=100_000)
    totals: bool = Field(False, description="Add total rows/columns to an aggregate answer")
    format: Format = Field("json", description="json (rows inline), csv or parquet (a file)")


class ReleaseOut(BaseModel):
    """An answer that left the trust: the table and what was done to it."""

    id: str
    made_at: datetime
    user: str
    member: str
    agreement: str
    agreement_version: int
    purpose: str
    sql: str
    columns_read: list[str]
    output: str
    people: int
    checksum: str
    notes: list[DisclosureNote]
    columns: list[str]
    rows: list[dict[str, Any]]
    rows_out: int


def release_out(release: Release) -> ReleaseOut:
    return ReleaseOut(
        id=release.id,
        made_at=release.made_at,
        user=release.user,
        member=release.member,
        agreement=release.agreement,
        agreement_version=release.agreement_version,
        purpose=release.purpose,
        sql=release.sql,
        columns_read=release.columns,
        output=release.output,
        people=release.people,
        checksum=release.checksum,
        notes=[
            DisclosureNote(
                row=c.row, column=c.column, action=c.action, rule=c.rule, reason=c.reason
            )
            for c in release.changes
        ],
        columns=list(release.table.column_names),
        rows=as_records(release.table),
        rows_out=release.rows_out,
    )


def release_file(release: Release, fmt: Literal["csv", "parquet"]) -> tuple[bytes, str, str]:
    """The released table as (bytes, media type, file name)."""
    buffer = io.BytesIO()
    if fmt == "csv":
        pacsv.write_csv(release.table, buffer)
    else:
        pq.write_table(release.table, buffer)
    return buffer.getvalue(), MEDIA_TYPES[fmt], f"release-{release.id}.{fmt}"

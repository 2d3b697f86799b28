"""Tables handed out by services (Arrow, Polars, lists of dicts) as plain JSON-ready rows."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

if TYPE_CHECKING:
    from accord.catalogue.models import User
    from accord.trust import Trust


class QuarantinePage(BaseModel):
    """A page of quarantined rows: each has its row number, field, reason and original values."""

    ref: str
    columns: list[str]
    rows: list[dict[str, Any]]
    total: int
    offset: int
    limit: int


def as_records(table: Any) -> list[dict[str, Any]]:
    """Rows of a pyarrow Table, a Polars/pandas DataFrame or a list of dicts/models."""
    if table is None:
        return []
    if hasattr(table, "to_pylist"):  # pyarrow
        rows = table.to_pylist()
    elif hasattr(table, "to_dicts"):  # polars
        rows = table.to_dicts()
    elif hasattr(table, "to_dict") and hasattr(table, "columns"):  # pandas
        rows = table.to_dict(orient="records")
    else:
        rows = [r.model_dump() if isinstance(r, BaseModel) else dict(r) for r in table]
    return [{k: _plain(v) for k, v in row.items()} for row in rows]


def columns_of(table: Any, rows: list[dict[str, Any]]) -> list[str]:
    names = getattr(table, "column_names", None) or getattr(table, "columns", None)
    if names is not None and not isinstance(names, str):
        return [str(n) for n in names]
    return list(rows[0]) if rows else []


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.hex()
    return value


def quarantine_page(
    trust: Trust, ref: str, version: int | None, offset: int, limit: int, *, actor: User
) -> QuarantinePage:
    """One page of ``trust.ingest.quarantine(ref)`` as ``actor`` sees it (the ingest service
    refuses whoever may not), optionally for one version."""
    table = trust.ingest.quarantine(ref, version, actor=actor)
    rows = as_records(table)
    return QuarantinePage(
        ref=ref,
        columns=columns_of(table, rows),
        rows=rows[offset : offset + limit],
        total=len(rows),
        offset=offset,
        limit=limit,
    )

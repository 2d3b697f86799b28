"""Reading the log fast: plain tuples straight from the database driver, no ORM objects.

Every reader yields ``(index, seq, occurred_at, actor, kind, member, agreement, payload,
prev_hash, entry_hash)`` with ``occurred_at`` already in canonical text, in chain order.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, text

Row = tuple[Any, ...]
FIELDS = (
    "index",
    "seq",
    "occurred_at",
    "actor",
    "kind",
    "member",
    "agreement",
    "payload",
    "prev_hash",
    "entry_hash",
)

_COLUMNS = (
    "chain_index, seq, {when}, actor, kind, member, agreement, payload, prev_hash, entry_hash"
)
# SQLAlchemy keeps SQLite times as 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC; PostgreSQL as timestamptz.
_WHEN = {
    "sqlite": "substr(occurred_at, 1, 10) || 'T' || substr(occurred_at, 12) || '+00:00'",
    "postgresql": (
        "to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')"
    ),
}
FETCH = 50_000
# Per statement: Connection.execution_options() would change the caller's connection for good.
_STREAM = {"stream_results": True, "yield_per": FETCH}


def db_entries(connection: Connection, *, after: int = 0, upto: int | None = None) -> Iterator[Row]:
    """Chained entries with number > ``after`` (and <= ``upto``), in chain order.

    Reads through the driver's own cursor in large batches (a server-side cursor on
    PostgreSQL), inside ``connection``'s transaction: about three times faster than SQLAlchemy
    result rows, which matters when verifying millions of entries.
    """
    dialect = connection.dialect.name
    mark = "?" if dialect == "sqlite" else "%s"
    sql = f"SELECT {_COLUMNS.format(when=_WHEN[dialect])} FROM events WHERE chain_index > {mark}"
    params: list[int] = [after]
    if upto is not None:
        sql += f" AND chain_index <= {mark}"
        params.append(upto)
    sql += " ORDER BY chain_index"
    dbapi = connection.connection.dbapi_connection
    if dialect == "postgresql":
        cursor = dbapi.cursor(name=f"accord_audit_{id(params):x}")  # type: ignore[union-attr]
        cursor.itersize = FETCH
    else:
        cursor = dbapi.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(FETCH):
            yield from batch
    finally:
        cursor.close()


def db_entry_hashes(connection: Connection, upto: int) -> list[str | None]:
    """Stored entry hashes of entries 1..``upto`` (for proofs), in chain order."""
    result = connection.execute(
        text(
            "SELECT chain_index, entry_hash FROM events "
            "WHERE chain_index BETWEEN 1 AND :upto ORDER BY chain_index"
        ),
        {"upto": upto},
        execution_options=_STREAM,
    )
    hashes: list[str | None] = []
    for index, digest in result:
        if index != len(hashes) + 1:
            break  # a gap: the caller sees fewer hashes than it asked for
        hashes.append(digest)
    return hashes


def db_unchained(connection: Connection, limit: int = 5) -> tuple[int, list[int]]:
    """(how many, first few seq) of event rows that are not in the chain."""
    count = connection.execute(text("SELECT count(*) FROM events WHERE chain_index IS NULL"))
    total = int(count.scalar_one())
    if not total:
        return 0, []
    first = connection.execute(
        text("SELECT seq FROM events WHERE chain_index IS NULL ORDER BY seq LIMIT :n"),
        {"n": limit},
    )
    return total, [int(s) for (s,) in first]

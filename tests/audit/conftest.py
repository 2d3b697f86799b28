"""Fixtures for the audit log: a trust with a few entries, and the tools an attacker would use."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import ClassVar

import pytest
from sqlalchemy import Connection, text

from accord import Trust
from accord.audit.entry import entry_bytes
from accord.audit.reader import db_entries
from accord.events import Event


class Probe(Event):
    """A harmless event for filling the log."""

    kind: ClassVar[str] = "test.audit-probe"
    member: str | None = None
    n: int
    note: str = ""


def add_events(
    trust: Trust, count: int, *, per_transaction: int = 1, member: str | None = None
) -> None:
    done = 0
    while done < count:
        with trust.unit_of_work() as uow:
            for _ in range(min(per_transaction, count - done)):
                uow.emit(Probe(n=done, note=f"probe {done} — é", member=member))
                done += 1


@pytest.fixture
def filled(trust: Trust) -> Trust:
    """The trust with 12 entries: 1 from creation and 11 probes."""
    add_events(trust, 11)
    return trust


def sql(trust: Trust, statement: str, **params: object) -> None:
    """Tamper with the database directly, as someone with database access could."""
    with trust.store.engine.begin() as connection:
        connection.execute(text(statement), params)


def renumber(trust: Trust, where: str, to: str) -> None:
    """Change chain_index on many rows without tripping the unique index midway."""
    sql(trust, f"UPDATE events SET chain_index = -({to}) WHERE {where}")
    sql(trust, "UPDATE events SET chain_index = -chain_index WHERE chain_index < 0")


def rechain(connection: Connection, start: int) -> None:
    """Recompute every hash from entry ``start`` on, as a careful attacker would."""
    rows = list(db_entries(connection, after=start - 2))
    prev = rows[0][9] if start > 1 else "0" * 64
    for row in rows[1:] if start > 1 else rows:
        index = row[0]
        digest = hashlib.sha256(
            entry_bytes(index, row[2], row[3], row[4], row[5], row[6], row[7], prev)
        ).hexdigest()
        connection.execute(
            text("UPDATE events SET prev_hash = :p, entry_hash = :h WHERE chain_index = :i"),
            {"p": prev, "h": digest, "i": index},
        )
        prev = digest


@pytest.fixture
def add() -> Callable[..., None]:
    return add_events


@pytest.fixture
def tamper() -> Callable[..., None]:
    return sql


@pytest.fixture
def shift() -> Callable[..., None]:
    return renumber


@pytest.fixture
def recompute() -> Callable[..., None]:
    return rechain

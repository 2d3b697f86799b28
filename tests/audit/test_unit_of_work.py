"""Events are written in batches at commit, yet a transaction reads its own events, savepoints
take their events with them and a change without an event is still refused."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from accord import Trust
from accord.core.store.database import UnloggedChange
from accord.core.store.models import EventRow, MemberRow
from accord.core.store.unit_of_work import BATCH

from .conftest import Probe


def _stored(trust: Trust) -> list[tuple[int, int, str]]:
    with trust.store.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT chain_index, seq, payload FROM events ORDER BY chain_index")
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


def test_every_returned_row_names_its_stored_row(trust: Trust) -> None:
    count = BATCH * 2 + 7  # more than one INSERT statement's worth
    with trust.unit_of_work() as uow:
        rows = [uow.emit(Probe(n=n)) for n in range(count)]
    stored = {index: (seq, payload) for index, seq, payload in _stored(trust)}
    assert [r.chain_index for r in rows] == list(range(2, count + 2))
    assert all(stored[r.chain_index] == (r.seq, r.payload) for r in rows)


def test_events_are_stored_in_emit_order(trust: Trust) -> None:
    with trust.unit_of_work() as uow:
        for n in range(30):
            uow.emit(Probe(n=n))
    stored = _stored(trust)
    assert [s for _, s, _ in stored] == sorted(s for _, s, _ in stored)


def test_a_query_in_the_transaction_sees_its_own_events(trust: Trust) -> None:
    with trust.unit_of_work() as uow:
        uow.emit(Probe(n=1))
        uow.emit(Probe(n=2))
        seen = uow.session.scalar(
            select(func.count()).select_from(EventRow).where(EventRow.kind == Probe.kind)
        )
    assert seen == 2


def test_flush_writes_the_events_for_raw_sql(trust: Trust) -> None:
    with trust.unit_of_work() as uow:
        row = uow.emit(Probe(n=1))
        assert row.seq is None
        uow.flush()
        found = uow.session.connection().execute(
            text("SELECT chain_index FROM events WHERE seq = :s"), {"s": row.seq}
        )
        assert found.scalar_one() == 2


def test_a_released_savepoint_keeps_its_events(trust: Trust) -> None:
    with trust.unit_of_work() as uow:
        uow.emit(Probe(n=1))
        with uow.session.begin_nested():
            uow.emit(Probe(n=2))
        uow.emit(Probe(n=3))
    assert [c[0] for c in _stored(trust)] == [1, 2, 3, 4]
    assert trust.audit.verify().ok


def test_a_rolled_back_first_savepoint_leaves_no_gap(trust: Trust) -> None:
    with trust.unit_of_work() as uow:
        nested = uow.session.begin_nested()
        uow.emit(Probe(n=1))  # the chain's lock and head are taken inside the savepoint
        nested.rollback()
        uow.emit(Probe(n=2))
    stored = _stored(trust)
    assert [c[0] for c in stored] == [1, 2]
    assert '"n":2' in stored[1][2]
    assert trust.audit.verify().ok


def test_events_stored_inside_a_rolled_back_savepoint_are_stored_again(trust: Trust) -> None:
    with trust.unit_of_work() as uow:
        uow.emit(Probe(n=1))  # emitted before the savepoint ...
        nested = uow.session.begin_nested()
        uow.emit(Probe(n=2))
        uow.session.scalar(select(func.count()).select_from(EventRow))  # ... stored inside it
        nested.rollback()
        uow.emit(Probe(n=3))
    stored = _stored(trust)
    assert [c[0] for c in stored] == [1, 2, 3]
    assert ['"n":1' in stored[1][2], '"n":3' in stored[2][2]] == [True, True]
    report = trust.audit.verify()
    assert report.ok, report.summary()


def test_a_change_whose_only_event_was_rolled_back_is_refused(trust: Trust) -> None:
    with pytest.raises(UnloggedChange), trust.unit_of_work() as uow:
        uow.session.add(MemberRow(name="sneaky", title="No event", public_key="x"))
        nested = uow.session.begin_nested()
        uow.emit(Probe(n=1))
        nested.rollback()
    with trust.store.sessions() as session:
        assert session.scalar(select(MemberRow).where(MemberRow.name == "sneaky")) is None

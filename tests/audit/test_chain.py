"""Every event lands in the chain, numbered without gaps in commit order, on both backends."""

from __future__ import annotations

import dataclasses
import itertools
import threading
from collections.abc import Callable

import pytest
from sqlalchemy import select, text

from accord import Trust
from accord.audit.entry import GENESIS
from accord.core.store.models import EventRow

from .conftest import Probe


def _chain(trust: Trust) -> list[tuple[int, int, str, str]]:
    with trust.store.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT chain_index, seq, prev_hash, entry_hash FROM events ORDER BY chain_index")
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


def test_each_event_links_to_the_one_before(filled: Trust) -> None:
    chain = _chain(filled)
    assert [c[0] for c in chain] == list(range(1, 13))
    assert chain[0][2] == GENESIS
    assert all(later[2] == earlier[3] for earlier, later in itertools.pairwise(chain))


def test_an_emitted_event_carries_its_place_in_the_chain(trust: Trust) -> None:
    with trust.unit_of_work() as uow:
        row = uow.emit(Probe(n=1))
        assert row.chain_index == 2
        assert row.prev_hash == _chain(trust)[0][3]
    with trust.store.sessions() as session:
        stored = session.scalar(select(EventRow).where(EventRow.seq == row.seq))
        assert stored is not None and stored.entry_hash == row.entry_hash


def test_a_rolled_back_transaction_leaves_no_gap(trust: Trust, add: Callable[..., None]) -> None:
    with pytest.raises(RuntimeError), trust.unit_of_work() as uow:
        uow.emit(Probe(n=1))
        raise RuntimeError("changed my mind")
    add(trust, 2)
    assert [c[0] for c in _chain(trust)] == [1, 2, 3]
    assert trust.audit.verify().ok


def test_events_in_a_rolled_back_savepoint_leave_no_gap(trust: Trust) -> None:
    with trust.unit_of_work() as uow:
        uow.emit(Probe(n=1))
        nested = uow.session.begin_nested()
        uow.emit(Probe(n=2))
        nested.rollback()
        uow.emit(Probe(n=3))
    assert [c[0] for c in _chain(trust)] == [1, 2, 3]
    report = trust.audit.verify()
    assert report.ok, report.summary()


def test_many_events_in_one_transaction_are_chained(trust: Trust, add: Callable[..., None]) -> None:
    add(trust, 250, per_transaction=250)
    assert len(_chain(trust)) == 251
    assert trust.audit.verify().ok


def test_concurrent_writers_never_fork_the_chain(trust: Trust, add: Callable[..., None]) -> None:
    errors: list[BaseException] = []

    def write() -> None:
        try:
            add(trust, 30, per_transaction=3)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert [c[0] for c in _chain(trust)] == list(range(1, 92))
    report = trust.audit.verify()
    assert report.ok, report.summary()


def test_a_checkpoint_is_signed_automatically_every_n_entries(
    trust: Trust, add: Callable[..., None]
) -> None:
    settings = dataclasses.replace(trust.settings, checkpoint_every=5)
    every_five = Trust._connect(settings, "tester@accord.test")
    try:
        add(every_five, 11)  # entries 2..12: crosses 5 and 10
        sizes = [c.tree_size for c in every_five.audit.checkpoints()]
        assert sizes == [5, 10]
        assert every_five.audit.verify().checkpoints == 2
    finally:
        every_five.close()


def test_an_older_home_has_its_events_chained_when_upgraded(
    filled: Trust, tamper: Callable[..., None]
) -> None:
    from alembic import command

    config = filled.store.alembic_config()
    with filled.store.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0001")
    reopened = Trust.open(
        filled.home,
        database_url=filled.settings.database_url,
        database_schema=filled.settings.database_schema,
    )
    try:
        report = reopened.audit.verify()
        assert report.ok and report.entries == 12, report.summary()
    finally:
        reopened.close()

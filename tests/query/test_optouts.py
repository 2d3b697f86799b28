"""The national data opt-out register and how lock 2 applies it."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select

from accord import Trust
from accord.core.store.models import EventRow
from accord.errors import InvalidInput
from accord.query.events import OptOutRecorded
from accord.query.models_db import OptOutRow
from tests.query.conftest import ANA, CENSUS, make_grant

C = "camden.school_census"


def _events(trust: Trust) -> int:
    with trust.store.sessions() as session:
        return len(session.scalars(select(EventRow.seq)).all())


def _nhs_of(trust: Trust, upn: str) -> str:
    rows = trust.ingest.read_version(CENSUS).to_pylist()
    return next(r["nhs_number"] for r in rows if r["upn"] == upn)


def test_an_opt_out_is_kept_as_a_keyed_hash_not_the_number(world: Trust) -> None:
    world.queries.optouts.record(nhs_number="943 476 5919", source="NDOP")
    assert world.queries.optouts.is_opted_out(nhs_number="9434765919")
    with world.store.sessions() as session:
        stored = session.scalar(select(OptOutRow.nhs_hash))
    assert stored is not None and "9434765919" not in stored


def test_an_opt_out_needs_an_identifier(world: Trust) -> None:
    with pytest.raises(InvalidInput):
        world.queries.optouts.record(source="NDOP")


def test_add_records_only_what_is_not_known_yet_and_no_event_of_its_own(world: Trust) -> None:
    optouts = world.queries.optouts
    optouts.record(person_key="pk_known", source="NDOP")
    logged = _events(world)
    with world.unit_of_work() as uow:
        added = optouts.add(
            uow.session,
            nhs_number="943 476 5919",
            person_keys=["pk_known", "pk_new"],
            source="citizen view",
        )
        uow.emit(OptOutRecorded(source="test", by_nhs_number=True, by_person_key=True))
    assert added == 2
    assert _events(world) == logged + 1  # only the caller's own event
    assert optouts.is_opted_out(nhs_number="9434765919")
    assert optouts.is_opted_out(person_key="pk_new")
    with world.unit_of_work() as uow:
        assert optouts.add(uow.session, nhs_number="9434765919", source="again") == 0
    with world.store.sessions() as session:
        assert len(session.scalars(select(OptOutRow.id)).all()) == 3


def test_opted_out_pupils_are_left_out_where_the_opt_out_applies(sworld: Trust) -> None:
    sworld.queries.optouts.record(nhs_number=_nhs_of(sworld, "P00004"), source="NDOP")
    grant = replace(make_grant(), opt_out_applies=True)
    release = sworld.queries.run(ANA, grant, f"SELECT upn FROM {C} WHERE fsm")
    assert "P00004" not in release.table.column("upn").to_pylist()
    assert release.rows_out == 24


def test_opted_out_pupils_stay_where_the_opt_out_does_not_apply(sworld: Trust) -> None:
    sworld.queries.optouts.record(nhs_number=_nhs_of(sworld, "P00004"), source="NDOP")
    release = sworld.queries.run(ANA, make_grant(), f"SELECT upn FROM {C} WHERE fsm")
    assert "P00004" in release.table.column("upn").to_pylist()


def test_opt_outs_import_from_a_dataset(sworld: Trust) -> None:
    sworld.catalogue.add_member("nhs", "NHS England")
    sworld.catalogue.register_dataset(
        {
            "name": "national_opt_out",
            "owner": "nhs",
            "title": "National data opt-out",
            "schema": {
                "fields": [
                    {"name": "nhs_number", "accord": {"category": "personal", "role": "nhs_number"}}
                ]
            },
        }
    )
    import pyarrow as pa

    numbers = [_nhs_of(sworld, u) for u in ("P00004", "P00016")]
    sworld.ingest.ingest("nhs/national_opt_out", pa.table({"nhs_number": numbers}))
    assert sworld.queries.optouts.import_from_dataset("nhs/national_opt_out") == 2
    assert sworld.queries.optouts.import_from_dataset("nhs/national_opt_out") == 0
    assert sworld.queries.optouts.is_opted_out(nhs_number=numbers[1])
    with sworld.store.sessions() as session:
        # Without a source the dataset is named (not the path of its file).
        assert set(session.scalars(select(OptOutRow.source))) == {"nhs/national_opt_out"}

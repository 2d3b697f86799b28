"""The national data opt-out register and how lock 2 applies it."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select

from accord import Trust
from accord.errors import InvalidInput
from accord.query.models_db import OptOutRow
from tests.query.conftest import ANA, CENSUS, make_grant

C = "camden.school_census"


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

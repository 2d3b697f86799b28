"""Releases: recorded with their event in one unit of work, or nothing is returned."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select

from accord import Trust
from accord.policy.grant import AccessGrant
from accord.policy.refusal import QueryRefused
from accord.query.models_db import ReleaseRow
from accord.query.release import checksum
from tests.query.conftest import ANA, CENSUS, make_grant

C = "camden.school_census"


def _release_count(trust: Trust) -> int:
    with trust.store.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(ReleaseRow)) or 0)


def test_a_release_row_records_who_what_and_why(world: Trust) -> None:
    release = world.queries.run(ANA, make_grant(), f"SELECT upn FROM {C} WHERE fsm")
    [row] = world.queries.releases()
    assert (row["id"], row["user_email"], row["member"], row["agreement"]) == (
        release.id,
        ANA,
        "islington",
        "fsm-2026",
    )
    assert row["columns"] == [f"{CENSUS}.fsm", f"{CENSUS}.upn"]
    assert row["rows_out"] == release.rows_out == 25
    assert row["checksum"] == checksum(release.table)


def test_contributors_are_kept_in_parquet_under_the_home(world: Trust) -> None:
    release = world.queries.run(ANA, make_grant(), f"SELECT upn FROM {C} WHERE fsm")
    assert release.contributors_path is not None
    assert release.contributors_path.is_relative_to(world.home / "data" / "releases")
    world.queries.settle()  # written just after the answer left
    people = pq.read_table(release.contributors_path)
    assert sorted(people.column("record_key").to_pylist()) == sorted(
        release.table.column("upn").to_pylist()
    )


def test_an_aggregate_release_records_every_contributor(world: Trust) -> None:
    release = world.queries.run(
        ANA, make_grant(), f"SELECT age_band, count(*) AS n FROM {C} GROUP BY 1"
    )
    assert release.output == "aggregate"
    assert release.people == 100  # every Islington pupil in the census


def test_if_the_release_cannot_be_recorded_nothing_is_returned(
    sworld: Trust, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("log unavailable")

    monkeypatch.setattr("accord.query.events.ReleaseMade.__init__", broken)
    with pytest.raises(RuntimeError):
        sworld.queries.run(ANA, make_grant(), f"SELECT upn FROM {C}")
    assert _release_count(sworld) == 0
    assert list((sworld.home / "data" / "releases").glob("*.parquet")) == []


def test_refusals_are_logged_with_their_reason(world: Trust) -> None:
    from accord.core.store.models import EventRow

    with pytest.raises(QueryRefused):
        world.queries.run(ANA, make_grant(), f"SELECT ethnicity FROM {C}")
    with world.store.sessions() as session:
        row = session.scalar(select(EventRow).where(EventRow.kind == "query.refused"))
    assert row is not None and "ethnicity" in row.payload and row.agreement == "fsm-2026"


def test_person_keys_leave_only_as_recipient_pseudonyms(sworld: Trust, tmp_path: Path) -> None:
    census = sworld.ingest.read_version(CENSUS).to_pylist()
    keys = pa.table(
        {
            "dataset": [CENSUS] * len(census),
            "record_key": [r["upn"] for r in census],
            "person_key": [f"PK-{r['upn']}" for r in census],
            "match_probability": [1.0] * len(census),
        }
    )
    path = tmp_path / "keys.parquet"
    pq.write_table(keys, path)

    class Linkage:
        def keys_path(self, agreement_id: str) -> Path:
            return path

    sworld.__dict__["linkage"] = Linkage()  # the linkage service's keys for this agreement
    grant: AccessGrant = make_grant(linkage=True)
    from dataclasses import replace

    grant = replace(grant, outputs=replace(grant.outputs, person_pseudonym=True))
    mine = sworld.queries.run(ANA, grant, f"SELECT upn, person_key FROM {C} ORDER BY upn")
    theirs = sworld.queries.run(
        ANA,
        replace(grant, agreement_id="other-agreement"),
        f"SELECT upn, person_key FROM {C} ORDER BY upn",
    )
    pseudonyms = mine.table.column("person_key").to_pylist()
    assert all(p and not p.startswith("PK-") for p in pseudonyms)
    assert set(pseudonyms).isdisjoint(theirs.table.column("person_key").to_pylist())
    recorded = sworld.queries.contributors(mine.id).column("person_key").to_pylist()
    assert all(p.startswith("PK-") for p in recorded)  # the trust keeps the real key

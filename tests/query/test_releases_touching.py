"""``trust.queries.releases_touching``: which releases used a person's records, exactly."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from accord import Trust
from accord.policy.grant import AccessGrant
from accord.query.release_index import PERSON, ReleaseIndex
from tests.query.conftest import ANA, CENSUS, make_grant

C = "camden.school_census"


@pytest.fixture
def linked(sworld: Trust, tmp_path: Path) -> tuple[Trust, AccessGrant]:
    """Islington's grant with person keys PK-<upn> from a linkage run."""
    census = sworld.ingest.read_version(CENSUS).to_pylist()
    path = tmp_path / "keys.parquet"
    pq.write_table(
        pa.table(
            {
                "dataset": [CENSUS] * len(census),
                "record_key": [r["upn"] for r in census],
                "person_key": [f"PK-{r['upn']}" for r in census],
                "match_probability": [1.0] * len(census),
            }
        ),
        path,
    )

    class Linkage:
        def keys_path(self, agreement_id: str) -> Path:
            return path

    sworld.__dict__["linkage"] = Linkage()
    grant = make_grant(linkage=True)
    return sworld, replace(grant, outputs=replace(grant.outputs, person_pseudonym=True))


def _upns(trust: Trust, borough: str, fsm: bool | None = None) -> list[str]:
    rows = trust.ingest.read_version(CENSUS).to_pylist()
    return [
        r["upn"] for r in rows if r["home_borough"] == borough and (fsm is None or r["fsm"] == fsm)
    ]


def test_a_person_is_told_of_every_release_that_used_their_record(
    linked: tuple[Trust, AccessGrant],
) -> None:
    trust, grant = linked
    fsm_pupil = _upns(trust, "islington", fsm=True)[0]
    names = trust.queries.run(ANA, grant, f"SELECT upn FROM {C} WHERE fsm")
    counts = trust.queries.run(ANA, grant, f"SELECT age_band, count(*) AS n FROM {C} GROUP BY 1")
    found = [r["id"] for r in trust.queries.releases_touching([f"PK-{fsm_pupil}"])]
    assert found == [counts.id, names.id]  # newest first


def test_a_release_that_left_a_person_out_is_not_listed(
    linked: tuple[Trust, AccessGrant],
) -> None:
    trust, grant = linked
    not_fsm = _upns(trust, "islington", fsm=False)[0]
    trust.queries.run(ANA, grant, f"SELECT upn FROM {C} WHERE fsm")
    assert trust.queries.releases_touching([f"PK-{not_fsm}"]) == []


def test_someone_outside_the_row_scope_was_never_used(linked: tuple[Trust, AccessGrant]) -> None:
    trust, grant = linked
    hackney = _upns(trust, "hackney")[0]
    trust.queries.run(ANA, grant, f"SELECT count(*) AS n FROM {C}")
    assert trust.queries.releases_touching([f"PK-{hackney}"]) == []


def test_a_hash_that_matches_by_chance_does_not_add_a_release(
    linked: tuple[Trust, AccessGrant],
) -> None:
    trust, grant = linked
    release = trust.queries.run(ANA, grant, f"SELECT upn FROM {C} WHERE fsm")
    trust.queries.refresh_index()
    # forge the index so that a stranger's hash is in the release's entry: the exact check on
    # the release's contributors must still say no
    index = trust.queries.index
    [(stranger,)] = duckdb.sql(f"SELECT hash('{PERSON}' || chr(31) || 'PK-stranger')").fetchall()
    [segment] = json.loads((index.folder / "segments.json").read_text())
    hashes = np.load(index.folder / segment["file"])
    [(release_id, start, end)] = segment["releases"]
    assert release_id == release.id
    forged = np.sort(np.append(hashes[start:end], np.uint64(stranger)))
    np.save(index.folder / segment["file"], forged)
    segment["releases"] = [[release_id, 0, len(forged)]]
    (index.folder / "segments.json").write_text(json.dumps([segment]))
    fresh = ReleaseIndex(index.folder)
    paths = [(release.id, trust.home / trust.queries.releases()[0]["contributors_path"])]
    assert fresh.touching(paths, person_keys=["PK-stranger"]) == {}
    pupil = _upns(trust, "islington", fsm=True)[0]
    assert fresh.touching(paths, person_keys=[f"PK-{pupil}"]) == {release.id: {PERSON}}


def test_releases_are_indexed_when_first_searched_and_one_index_serves_both_sides(
    linked: tuple[Trust, AccessGrant],
) -> None:
    trust, grant = linked
    pupil = _upns(trust, "islington", fsm=True)[0]
    release = trust.queries.run(ANA, grant, f"SELECT upn FROM {C} WHERE fsm")
    assert not (trust.queries.index.folder / "segments.json").exists()
    assert [r["id"] for r in trust.queries.releases_touching([f"PK-{pupil}"])] == [release.id]
    assert trust.queries.releases_of_records([(CENSUS, pupil)]) == {release.id: {CENSUS}}
    assert trust.citizen.index_dir == trust.queries.index.folder
    assert len(json.loads((trust.queries.index.folder / "segments.json").read_text())) == 1


def test_the_contributors_parquet_reads_in_duckdb_with_dataset_and_record_key(
    sworld: Trust,
) -> None:
    release = sworld.queries.run(ANA, make_grant(), f"SELECT upn FROM {C} WHERE fsm")
    sworld.queries.settle()  # written just after the answer left
    rows = duckdb.sql(
        f"SELECT dataset, record_key FROM read_parquet('{release.contributors_path}') "
        "ORDER BY record_key"
    ).fetchall()
    assert rows == [(CENSUS, upn) for upn in sorted(release.table.column("upn").to_pylist())]


def test_an_aggregate_release_records_each_contributor_once_per_cell(sworld: Trust) -> None:
    release = sworld.queries.run(
        ANA, make_grant(), f"SELECT age_band, count(*) AS n FROM {C} GROUP BY 1"
    )
    kept = sworld.queries.contributors(release.id)
    assert kept.num_rows == 100  # each Islington pupil in exactly one age band
    assert sorted(set(kept.column("cell").to_pylist())) == [0, 1]

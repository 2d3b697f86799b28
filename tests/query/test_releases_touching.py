"""``trust.queries.releases_touching``: which releases used a person's records, exactly."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from accord import Trust
from accord.policy.grant import AccessGrant
from accord.query.release_index import ReleaseIndex, _holds_any, person_hash
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
    # forge the index so that a stranger's hash is in it: the exact check must still say no
    trust.queries.index.write(release.id, np.array([person_hash("PK-stranger")], np.uint64))
    assert trust.queries.releases_touching(["PK-stranger"]) == []


def test_releases_without_an_index_are_indexed_when_searched(
    linked: tuple[Trust, AccessGrant],
) -> None:
    trust, grant = linked
    pupil = _upns(trust, "islington", fsm=True)[0]
    release = trust.queries.run(ANA, grant, f"SELECT upn FROM {C} WHERE fsm")
    trust.queries.index.path(release.id).unlink()  # as made before the index existed
    assert [r["id"] for r in trust.queries.releases_touching([f"PK-{pupil}"])] == [release.id]
    assert trust.queries.index.path(release.id).exists()


def test_the_index_hash_is_duckdbs_md5_number_lower() -> None:
    [(expected,)] = duckdb.sql("SELECT md5_number_lower('PK-000123')").fetchall()
    assert person_hash("PK-000123") == expected


def test_the_contributors_parquet_reads_in_duckdb_with_dataset_and_record_key(
    sworld: Trust,
) -> None:
    release = sworld.queries.run(ANA, make_grant(), f"SELECT upn FROM {C} WHERE fsm")
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


@pytest.mark.parametrize("size", [0, 1, 2, 1000])
def test_the_on_disk_search_finds_exactly_the_hashes_kept(tmp_path: Path, size: int) -> None:
    kept = np.unique(np.random.default_rng(size).integers(1, 2**63, size, dtype=np.int64))
    kept = kept.astype(np.uint64) * 2
    index = ReleaseIndex(tmp_path)
    path = index.write("rel-x", kept)
    for value in kept[:50].tolist():
        assert _holds_any(path, [value])
    assert not _holds_any(path, [1, 3, 2**64 - 1])  # odd: never kept

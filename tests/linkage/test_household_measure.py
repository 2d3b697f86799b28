"""The household measure counts the same pairs as its definition written as one plain query."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

from accord.catalogue.contract import Role
from accord.linkage.comparisons import JW_LOW, SWAP_JW
from accord.linkage.engine import link_roles
from accord.linkage.household import HouseholdMeasure, measure
from accord.linkage.prepare import prepare
from tests.linkage.conftest import make_boroughs


def _by_definition(table: pa.Table) -> HouseholdMeasure:
    """Every pair sharing family name and any place, each closeness test in full (no screens)."""
    con = duckdb.connect()
    con.register("__t", table)
    known = con.execute(
        "SELECT count(*) FROM __t WHERE family_name IS NOT NULL "
        "AND (uprn IS NOT NULL OR address IS NOT NULL OR postcode IS NOT NULL)"
    ).fetchall()[0][0]
    row = con.execute(f"""
        WITH pairs AS (
          SELECT DISTINCT l.unique_id AS a, r.unique_id AS b,
            (l.given_name IS NOT NULL AND r.given_name IS NOT NULL) AS gk,
            (l.dob IS NOT NULL AND r.dob IS NOT NULL) AS dk,
            (jaro_winkler_similarity(l.given_name, r.given_name) >= {JW_LOW}
             OR len(list_intersect(l.given_group, r.given_group)) > 0
             OR damerau_levenshtein(l.given_name, r.given_name) <= 1
             OR (jaro_winkler_similarity(l.given_name, r.family_name) >= {SWAP_JW}
                 AND jaro_winkler_similarity(l.family_name, r.given_name) >= {SWAP_JW})
             OR l.given_name = r.family_name
             OR (substr(l.given_name, 1, 1) = substr(r.given_name, 1, 1)
                 AND (length(l.given_name) = 1 OR length(r.given_name) = 1))) AS gc,
            (l.dob = r.dob OR (l.dob_y = r.dob_y AND l.dob_m = r.dob_d AND l.dob_d = r.dob_m)
             OR damerau_levenshtein(l.dob, r.dob) <= 1
             OR (CASE WHEN l.dob_y = r.dob_y THEN 1 ELSE 0 END
                 + CASE WHEN l.dob_m = r.dob_m THEN 1 ELSE 0 END
                 + CASE WHEN l.dob_d = r.dob_d THEN 1 ELSE 0 END) = 2) AS dc,
            l.given_name = r.given_name AS ge
          FROM __t l JOIN __t r
            ON l.family_name = r.family_name AND l.unique_id < r.unique_id
           AND (l.uprn = r.uprn OR l.address = r.address OR l.postcode = r.postcode)
        )
        SELECT count(*),
          count(*) FILTER (WHERE gk AND dk AND NOT gc),
          count(*) FILTER (WHERE gk AND dk AND NOT gc AND dc),
          count(*) FILTER (WHERE gk AND dk AND NOT dc),
          count(*) FILTER (WHERE gk AND dk AND NOT dc AND ge)
        FROM pairs
    """).fetchall()[0]
    con.close()
    return HouseholdMeasure(known * (known - 1) // 2, *(int(v or 0) for v in row))


@pytest.mark.parametrize(("seed", "errors"), [(3, 0.06), (11, 0.3)])
def test_measure_counts_the_pairs_its_definition_counts(seed: int, errors: float) -> None:
    boroughs = make_boroughs(households=400, seed=seed, errors=errors)
    sources = boroughs.sources()
    roles = link_roles(sources)
    assert {Role.family_name, Role.address, Role.postcode} <= roles
    for source in sources:
        table = prepare(source, roles).table
        for column in ("uprn", "address", "postcode", "dob", "given_group"):
            if column not in table.column_names:
                table = table.append_column(column, pa.nulls(table.num_rows, pa.string()))
        expected = _by_definition(table)
        assert expected.households > 0 and expected.given_conflict > 0
        assert measure([table], roles) == expected

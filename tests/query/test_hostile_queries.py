"""Hostile queries: each is refused, or what it was after is absent from the answer.

The grant under test (conftest.make_grant): Islington may read some of Camden's census fields
for Islington residents, and take away upn, names and address record by record. Ethnicity and
NHS number are not granted at all.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from accord import Trust
from accord.policy.grant import OutputRules
from accord.policy.refusal import QueryRefused
from tests.query.conftest import ANA, CENSUS, make_grant

C = "camden.school_census"

REFUSED: dict[str, str] = {
    # aliases and CTEs hiding a forbidden column
    "alias": f"SELECT ethnicity AS e FROM {C}",
    "cte": f"WITH x AS (SELECT ethnicity FROM {C}) SELECT * FROM x",
    "cte-star-then-forbidden": f"WITH x AS (SELECT * FROM {C}) SELECT ethnicity FROM x",
    "derived-table": f"SELECT e FROM (SELECT ethnicity e FROM {C}) t",
    "table-alias": f"SELECT t.nhs_number FROM {C} t",
    "nested-cte": f"WITH a AS (SELECT upn, nhs_number n FROM {C}), b AS (SELECT n FROM a) "
    "SELECT n FROM b",
    # forbidden columns only in WHERE / JOIN / ORDER BY / GROUP BY / HAVING / windows
    "where": f"SELECT upn FROM {C} WHERE ethnicity = 'A'",
    "join": f"SELECT a.upn FROM {C} a JOIN {C} b ON a.nhs_number = b.nhs_number",
    "order-by": f"SELECT upn FROM {C} ORDER BY ethnicity",
    "group-by": f"SELECT count(*) FROM {C} GROUP BY ethnicity",
    "having": f"SELECT age_band, count(*) FROM {C} GROUP BY 1 HAVING count(ethnicity) > 1",
    "window": f"SELECT upn FROM {C} QUALIFY row_number() OVER (PARTITION BY ethnicity) = 1",
    "in-subquery": f"SELECT upn FROM {C} WHERE upn IN (SELECT upn FROM {C} WHERE ethnicity='A')",
    "exists": f"SELECT upn FROM {C} s WHERE EXISTS (SELECT 1 FROM {C} t "
    "WHERE t.upn = s.upn AND t.nhs_number LIKE '4%')",
    "case": f"SELECT upn, CASE WHEN ethnicity = 'A' THEN 1 END AS x FROM {C}",
    "aggregate-filter": f"SELECT count(*) FILTER (WHERE ethnicity = 'A') FROM {C}",
    # SELECT * never widens past what may leave
    "star": f"SELECT * FROM {C}",
    "qualified-star": f"SELECT s.* FROM {C} s",
    "star-exclude": f"SELECT * EXCLUDE (fsm) FROM {C}",
    "whole-row": f"SELECT s FROM {C} s",
    "columns-star": f"SELECT COLUMNS('.*') FROM {C}",
    # unions with system tables and catalogue functions
    "union-information-schema": f"SELECT upn FROM {C} UNION SELECT table_name FROM "
    "information_schema.tables",
    "union-sqlite-master": f"SELECT upn FROM {C} UNION ALL SELECT name FROM sqlite_master",
    "union-duckdb-function": f"SELECT upn FROM {C} UNION SELECT database_name FROM "
    "duckdb_databases()",
    "union-pg-catalog": f"SELECT upn FROM {C} UNION SELECT nspname FROM pg_catalog.pg_namespace",
    "duckdb-settings": "SELECT * FROM duckdb_settings()",
    "main-schema": "SELECT * FROM main.anything",
    # string tricks
    "quoted-identifier": f'SELECT "ethnicity" FROM {C}',
    "upper-case": "SELECT ETHNICITY FROM CAMDEN.SCHOOL_CENSUS",
    "homoglyph": f"SELECT \u0435thnicity FROM {C}",
    "file-as-table": "SELECT upn FROM 'camden/school_census/v1/data.parquet'",
    "quoted-table-injection": 'SELECT upn FROM camden."school_census; DROP TABLE x"',
    "unqualified-table": "SELECT upn FROM school_census",
    "literal-column": f"SELECT upn, 'ethnicity' AS e FROM {C}",
    # multiple statements and comments
    "two-statements": f"SELECT upn FROM {C}; SELECT 1",
    "comment-hiding-second-statement": f"SELECT upn FROM {C}; -- harmless\nSELECT ethnicity "
    f"FROM {C}",
    "attach-after-select": "SELECT 1; ATTACH '/tmp/x.db'",
    # every blocked function family and statement kind
    "read-csv": "SELECT * FROM read_csv('/etc/passwd')",
    "read-csv-in-select": "SELECT read_csv('/etc/passwd')",
    "read-parquet": "SELECT * FROM read_parquet('data/**/*.parquet')",
    "read-json": "SELECT * FROM read_json_auto('x.json')",
    "read-text": "SELECT * FROM read_text('/etc/hostname')",
    "glob": "SELECT * FROM glob('*')",
    "parquet-metadata": "SELECT * FROM parquet_metadata('x.parquet')",
    "table-function-in-join": f"SELECT upn FROM {C}, range(10)",
    "unnest": f"SELECT upn, unnest([1, 2]) FROM {C}",
    "query-function": f"SELECT * FROM query('SELECT ethnicity FROM {C}')",
    "current-setting": f"SELECT upn, current_setting('home_directory') FROM {C}",
    "getenv": f"SELECT upn, getenv('HOME') FROM {C}",
    "lambda": f"SELECT list_transform([1], x -> x + 1) FROM {C}",
    "parameter": f"SELECT upn FROM {C} WHERE age = $1",
    "copy": f"COPY {C} TO '/tmp/out.csv'",
    "attach": "ATTACH '/tmp/x.db' AS x",
    "pragma": "PRAGMA database_list",
    "set": "SET threads = 1",
    "install": "INSTALL httpfs",
    "load": "LOAD httpfs",
    "export": "EXPORT DATABASE '/tmp/x'",
    "call": "CALL pragma_version()",
    "describe": f"DESCRIBE {C}",
    "create": f"CREATE TABLE x AS SELECT * FROM {C}",
    "values": "VALUES (1), (2)",
    # output rules
    "granted-but-not-releasable": f"SELECT upn, age FROM {C}",
    "person-level-maximum": f"SELECT age_band, max(attendance) FROM {C} GROUP BY 1",
    "median": f"SELECT age_band, median(attendance) FROM {C} GROUP BY 1",
    "count-in-record-level": f"SELECT upn, (SELECT count(*) FROM {C}) AS n FROM {C}",
    "window-in-record-level": f"SELECT upn, count(*) OVER () AS n FROM {C}",
    "rollup": f"SELECT age_band, count(*) FROM {C} GROUP BY ROLLUP (age_band)",
    "not-shared-dataset": "SELECT * FROM camden.social_care",
}


@pytest.mark.parametrize("sql", REFUSED.values(), ids=REFUSED.keys())
def test_hostile_query_is_refused(shared_world: Trust, sql: str) -> None:
    with pytest.raises(QueryRefused) as refused:
        shared_world.queries.run(ANA, make_grant(), sql)
    assert refused.value.reason  # says why


@pytest.mark.parametrize(
    "sql",
    [
        f"SELECT upn /*, ethnicity */ FROM {C} WHERE fsm -- AND ethnicity = 'A'",
        f"SELECT upn FROM {C} /* ; SELECT ethnicity FROM {C} */",
        f"SELECT upn FROM {C} WHERE fsm OR 1 = 1",
        f"SELECT upn FROM {C} WHERE home_borough <> 'islington' OR home_borough IS NULL OR TRUE",
    ],
    ids=["comment-in-select", "comment-with-statement", "or-true", "negated-scope"],
)
def test_tricks_that_run_return_only_granted_data(shared_world: Trust, sql: str) -> None:
    release = shared_world.queries.run(ANA, make_grant(), sql)
    assert release.table.column_names == ["upn"]
    residents = _residents(shared_world)
    assert set(release.table.column("upn").to_pylist()) <= residents


def test_non_resident_pupils_are_absent_even_when_asked_for(shared_world: Trust) -> None:
    release = shared_world.queries.run(
        ANA, make_grant(), f"SELECT upn FROM {C} WHERE home_borough = 'camden'"
    )
    assert release.rows_out == 0


def test_an_expired_agreement_is_refused(shared_world: Trust) -> None:
    grant = make_grant(expires=datetime.now(UTC) - timedelta(days=1))
    with pytest.raises(QueryRefused, match="expired"):
        shared_world.queries.run(ANA, grant, f"SELECT upn FROM {C}")


def test_an_agreement_not_yet_in_force_is_refused(shared_world: Trust) -> None:
    grant = make_grant(valid_from=datetime.now(UTC) + timedelta(days=3))
    with pytest.raises(QueryRefused, match="starts"):
        shared_world.queries.run(ANA, grant, f"SELECT upn FROM {C}")


def test_a_member_that_is_not_the_recipient_is_refused(shared_world: Trust) -> None:
    with pytest.raises(QueryRefused, match="not to hackney"):
        shared_world.queries.run("hal@hackney.gov.uk", make_grant(), f"SELECT upn FROM {C}")


def test_record_level_is_refused_where_only_aggregates_are_permitted(shared_world: Trust) -> None:
    grant = make_grant(outputs=OutputRules(record_level=False, aggregate=True))
    with pytest.raises(QueryRefused, match="record-level answers are not permitted"):
        shared_world.queries.run(ANA, grant, f"SELECT upn FROM {C}")


def test_small_cell_differencing_is_suppressed(sworld: Trust) -> None:
    grant = make_grant()
    first = sworld.queries.run(ANA, grant, f"SELECT count(*) AS n FROM {C}")
    assert first.table.column("n").to_pylist() == [100]
    # the same people less the few aged 16: the difference would single them out
    second = sworld.queries.run(ANA, grant, f"SELECT count(*) AS n FROM {C} WHERE age < 16")
    assert second.table.column("n").to_pylist() == [None]
    assert any(c.rule == "DifferencingCheck" for c in second.changes)


def test_differencing_is_tracked_per_recipient_and_agreement(sworld: Trust) -> None:
    sworld.queries.run(ANA, make_grant(), f"SELECT count(*) AS n FROM {C}")
    other = make_grant(agreement_id="fsm-2027")
    second = sworld.queries.run(ANA, other, f"SELECT count(*) AS n FROM {C} WHERE age < 16")
    assert second.table.column("n").to_pylist()[0] is not None


def _residents(trust: Trust) -> set[str]:
    table = trust.ingest.read_version(CENSUS)
    return {row["upn"] for row in table.to_pylist() if row["home_borough"] == "islington"}


def test_the_grant_without_record_fields_releases_no_names(shared_world: Trust) -> None:
    grant = make_grant()
    grant = replace(grant, outputs=replace(grant.outputs, record_fields=frozenset()))
    with pytest.raises(QueryRefused, match="may not leave"):
        shared_world.queries.run(ANA, grant, f"SELECT given_name FROM {C}")

"""What the query path keeps between questions, and that nothing kept widens what is granted."""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path

import pytest

from accord import Trust
from accord.core.engine import Limits
from accord.core.engine.sandbox import QueryFailed
from accord.policy.grant import DatasetGrant
from accord.policy.refusal import QueryRefused
from tests.query.conftest import ANA, CENSUS, make_grant

C = "camden.school_census"


def test_a_repeated_question_is_decided_once(sworld: Trust) -> None:
    grant = make_grant()
    sql = f"SELECT age_band, count(*) AS n FROM {C} GROUP BY 1"
    specs = sworld.queries.table_specs(grant)
    first = sworld.queries.decide(grant, sql, specs, "islington")
    assert sworld.queries.decide(grant, sql, specs, "islington") is first


def test_a_column_no_longer_granted_is_refused_after_an_earlier_answer(sworld: Trust) -> None:
    grant = make_grant()
    sql = f"SELECT age_band, avg(attendance) AS a FROM {C} GROUP BY 1"
    sworld.queries.run(ANA, grant, sql)
    narrower = replace(
        grant,
        datasets={
            CENSUS: DatasetGrant(
                CENSUS, grant.datasets[CENSUS].fields - {"attendance"}, "home_borough = 'islington'"
            )
        },
    )
    with pytest.raises(QueryRefused, match="attendance"):
        sworld.queries.run(ANA, narrower, sql)


def test_record_fields_withdrawn_are_refused_even_for_a_question_decided_before(
    sworld: Trust,
) -> None:
    grant = make_grant()
    sql = f"SELECT upn FROM {C} WHERE fsm"
    sworld.queries.run(ANA, grant, sql)
    withdrawn = replace(grant, outputs=replace(grant.outputs, record_fields=frozenset()))
    with pytest.raises(QueryRefused, match="may not leave"):
        sworld.queries.run(ANA, withdrawn, sql)


def test_questions_reading_different_columns_share_one_prepared_view(sworld: Trust) -> None:
    grant = make_grant()
    sworld.queries.run(ANA, grant, f"SELECT upn FROM {C} WHERE fsm")
    sworld.queries.run(ANA, grant, f"SELECT age_band, count(*) AS n FROM {C} GROUP BY 1")
    assert len(sworld.queries.sandboxes.cache) == 1


def test_the_sandbox_database_holds_only_granted_columns_and_in_scope_rows(
    sworld: Trust, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[Path] = []
    run = sworld.queries.engine.run_database

    def spy(database, sql, limits):  # type: ignore[no-untyped-def]
        opened.append(database)
        return run(database, sql, limits)

    monkeypatch.setattr(sworld.queries.engine, "run_database", spy)
    grant = replace(
        make_grant(),
        datasets={
            CENSUS: DatasetGrant(
                CENSUS, frozenset({"upn", "fsm", "home_borough"}), "home_borough = 'islington'"
            )
        },
    )
    sworld.queries.run(ANA, grant, f"SELECT upn FROM {C} WHERE fsm")
    [path] = opened

    def ask(sql: str) -> list[tuple[object, ...]]:
        [table] = sworld.queries.engine.run_database(path, [sql], Limits())
        return [tuple(row.values()) for row in table.to_pylist()]

    tables = ask("SELECT schema_name, table_name FROM duckdb_tables() ORDER BY 1, 2")
    columns = [c for (c,) in ask("SELECT column_name FROM duckdb_columns() WHERE NOT internal")]
    boroughs = ask("SELECT DISTINCT home_borough FROM camden.school_census")
    assert tables == [("camden", "school_census")]
    assert sorted(c for c in columns if not c.startswith("__accord_row")) == [
        "fsm",
        "home_borough",
        "upn",
    ]
    assert boroughs == [("islington",)]


def test_a_question_cannot_change_its_sandbox_database(sworld: Trust) -> None:
    sworld.queries.run(ANA, make_grant(), f"SELECT count(*) AS n FROM {C}")
    [kept] = sworld.queries.sandboxes.cache.values()
    with pytest.raises(QueryFailed):
        sworld.queries.engine.run_database(
            kept.database.path, ["CREATE TABLE camden.x AS SELECT 1 AS a"], Limits()
        )
    with pytest.raises(QueryFailed):
        sworld.queries.engine.run_database(
            kept.database.path, ["SELECT * FROM read_csv('/etc/passwd')"], Limits()
        )


def test_a_new_version_is_prepared_again(sworld: Trust) -> None:
    grant = make_grant()
    before = sworld.queries.run(ANA, grant, f"SELECT count(*) AS n FROM {C}")
    table = sworld.ingest.read_version(CENSUS)
    sworld.ingest.ingest(CENSUS, table.slice(0, 150))
    after = sworld.queries.run(ANA, grant, f"SELECT count(*) AS n FROM {C}")
    assert before.table.column("n").to_pylist() == [100]
    assert after.table.column("n").to_pylist() == [50]


def test_if_lock_3_fails_no_record_of_contributors_is_left(
    sworld: Trust, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("history unavailable")

    monkeypatch.setattr("accord.query.differencing.EarlierCells.get", broken)
    with pytest.raises(RuntimeError):
        sworld.queries.run(ANA, make_grant(), f"SELECT age_band, count(*) AS n FROM {C} GROUP BY 1")
    assert list((sworld.home / "data" / "releases").glob("*")) == []
    assert sworld.queries.releases() == []


def test_sandbox_databases_unused_for_a_day_are_removed_unless_a_release_needs_them(
    sworld: Trust, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(type(sworld.queries.pending), "start", lambda self, release_id: None)
    pending = sworld.queries.run(
        ANA, make_grant(), f"SELECT age_band, count(*) AS n FROM {C} GROUP BY 1"
    )
    [needed] = [kept.database.folder for kept in sworld.queries.sandboxes.cache.values()]
    stale = needed.parent / ("0" * 40)
    stale.mkdir()
    day_ago = time.time() - 2 * 24 * 3600
    for folder in (needed, stale):
        os.utime(folder, (day_ago, day_ago))
    sworld.queries.sandboxes.cache.clear()  # as in a new process
    sworld.ingest.ingest(CENSUS, sworld.ingest.read_version(CENSUS).slice(0, 150))
    sworld.queries.run(ANA, make_grant(), f"SELECT count(*) AS n FROM {C}")  # builds anew
    assert not stale.exists()
    assert needed.exists()  # the pending release's contributors are listed from it
    assert len(sworld.queries.contributors(pending.id)) == 100

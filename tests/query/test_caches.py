"""What the query path keeps between questions, and that nothing kept widens what is granted."""

from __future__ import annotations

from dataclasses import replace

import pytest

from accord import Trust
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
    assert len(sworld.queries._cache) == 1


def test_the_sandbox_gets_only_the_columns_the_question_reads(
    sworld: Trust, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[list[str]] = []
    run = sworld.queries.engine.run

    def spy(inputs, sql, limits):  # type: ignore[no-untyped-def]
        seen.extend(i.data.column_names for i in inputs)
        return run(inputs, sql, limits)

    monkeypatch.setattr(sworld.queries.engine, "run", spy)
    sworld.queries.run(ANA, make_grant(), f"SELECT upn FROM {C} WHERE fsm")
    [columns] = seen
    assert sorted(c for c in columns if not c.startswith("__accord_row")) == ["fsm", "upn"]


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

    monkeypatch.setattr("accord.query.service.differencing_reasons", broken)
    with pytest.raises(RuntimeError):
        sworld.queries.run(ANA, make_grant(), f"SELECT age_band, count(*) AS n FROM {C} GROUP BY 1")
    assert list((sworld.home / "data" / "releases").glob("*")) == []
    assert sworld.queries.releases() == []

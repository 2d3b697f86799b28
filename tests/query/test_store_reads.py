"""What each question reads from the store, and that nothing kept between questions is stale:
a revoked agreement, a deactivated user, a new version and cells released by another process
all take effect on the very next question."""

from __future__ import annotations

import pytest
from sqlalchemy import insert

from accord import Trust
from accord.policy.refusal import QueryRefused
from accord.query.differencing import EarlierCells
from accord.query.models_db import AggregateCellRow
from accord.query.service import Queries
from tests.query.conftest import ANA, CENSUS, make_grant
from tests.query.test_fsm_story import AGREEMENT, LIST_SQL, _activate_fsm

C = "camden.school_census"
COUNT = f"SELECT count(*) AS n FROM {C}"


def test_a_revoked_agreement_refuses_the_next_question(sworld: Trust) -> None:
    _activate_fsm(sworld)
    sworld.queries.ask(ANA, AGREEMENT, "fsm-support", LIST_SQL)
    sworld.agreements.revoke(AGREEMENT, "the census was out of date")
    with pytest.raises(QueryRefused, match="revoked"):
        sworld.queries.ask(ANA, AGREEMENT, "fsm-support", LIST_SQL)


def test_a_deactivated_user_is_refused_on_the_next_question(sworld: Trust) -> None:
    grant = make_grant()
    sworld.queries.run(ANA, grant, COUNT)
    sworld.catalogue.deactivate_user(ANA)
    with pytest.raises(QueryRefused, match="deactivated"):
        sworld.queries.run(ANA, grant, COUNT)


def test_a_new_version_is_answered_from_on_the_next_question(sworld: Trust) -> None:
    grant = make_grant()
    sql = f"SELECT age_band, count(*) AS n FROM {C} GROUP BY 1 ORDER BY 1"
    before = sworld.queries.run(ANA, grant, sql)
    table = sworld.ingest.read_version(CENSUS)
    sworld.ingest.ingest(CENSUS, table.slice(0, 240))  # 80 Islington pupils instead of 100
    after = sworld.queries.run(ANA, grant, sql)
    assert sum(before.table.column("n").to_pylist()) == 100
    assert sum(after.table.column("n").to_pylist()) == 80


def test_cells_released_by_another_process_are_checked_against(sworld: Trust) -> None:
    grant = make_grant()
    mine = sworld.queries
    by_band = f"SELECT age_band, count(*) AS n FROM {C} GROUP BY 1"
    mine.run(ANA, grant, by_band)
    mine.run(ANA, grant, by_band)  # this process now keeps the first answer's cells
    other = Queries(sworld)  # another process serving the same trust
    other.run(ANA, grant, COUNT)
    other.settle()
    # The same people less the few aged 16: only the other process's release exposes them.
    second = mine.run(ANA, grant, f"SELECT count(*) AS n FROM {C} WHERE age < 16")
    assert second.table.column("n").to_pylist() == [None]
    [change] = [c for c in second.changes if c.rule == "DifferencingCheck"]
    assert sworld.queries.releases()[1]["id"] in change.reason


def _cell(release_id: str, cell: int, people: int, **row: object) -> dict[str, object]:
    values = {
        "release_id": release_id,
        "agreement": "fsm-2026",
        "member": "islington",
        "cell": cell,
        "people": people,
        "released": True,
    }
    return values | row


def test_a_cell_committed_late_under_a_lower_id_is_not_missed(trust: Trust) -> None:
    # Both stores: PostgreSQL hands out ids before their transactions commit.
    earlier = EarlierCells()
    with trust.store.sessions.begin() as session:
        session.execute(insert(AggregateCellRow), [_cell("rel-b", 0, 40, id=10)])
    assert earlier.get(trust, "fsm-2026", "islington") == [("rel-b", 0, 40)]
    # Another transaction took id 5 before id 10 but committed after it was read.
    with trust.store.sessions.begin() as session:
        session.execute(insert(AggregateCellRow), [_cell("rel-a", 0, 57, id=5)])
    assert sorted(earlier.get(trust, "fsm-2026", "islington")) == [
        ("rel-a", 0, 57),
        ("rel-b", 0, 40),
    ]


def test_earlier_cells_are_kept_per_agreement_and_member(trust: Trust) -> None:
    earlier = EarlierCells()
    with trust.store.sessions.begin() as session:
        session.execute(
            insert(AggregateCellRow),
            [
                _cell("rel-a", 0, 57),
                _cell("rel-b", 0, 40, agreement="other"),
                _cell("rel-c", 0, 33, member="hackney"),
                _cell("rel-d", 1, 12, released=False),
            ],
        )
    assert earlier.get(trust, "fsm-2026", "islington") == [("rel-a", 0, 57)]
    assert earlier.get(trust, "other", "islington") == [("rel-b", 0, 40)]
    with trust.store.sessions.begin() as session:
        session.execute(insert(AggregateCellRow), [_cell("rel-e", 2, 21)])
    assert earlier.get(trust, "fsm-2026", "islington") == [("rel-a", 0, 57), ("rel-e", 2, 21)]

"""Story 1 end to end: Islington gets its resident FSM pupils from Camden's census — and nothing
else. The agreement is the trust's FSM template, pointed at this census, proposed and signed by
both controllers' IG leads through the agreements service."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import yaml

from accord import Trust
from accord.agreements.model import parse_agreement
from accord.agreements.templates import render_template
from accord.policy.refusal import QueryRefused
from accord.query.events import QueryRefused as QueryRefusedEvent
from accord.query.events import ReleaseMade
from tests.query.conftest import ANA, CENSUS

C = "camden.school_census"
AGREEMENT = "fsm-camden-islington"
LIST_SQL = f"SELECT upn, given_name, family_name, address FROM {C} ORDER BY upn"


def _activate_fsm(trust: Trust) -> None:
    trust.catalogue.add_user("ig@camden.gov.uk", "camden", ["ig-lead"])
    trust.catalogue.add_user("ig@islington.gov.uk", "islington", ["ig-lead"])
    data = yaml.safe_load(render_template("fsm", today=date.today()))
    data["datasets"] = [
        {
            "dataset": CENSUS,
            "fields": ["upn", "given_name", "family_name", "address", "home_borough", "fsm"],
            "row_scope": "home_borough = 'islington' AND fsm = TRUE",
        }
    ]
    data["linkage"] = {"permitted": False, "identifier_roles": []}
    data["outputs"]["record_level"] = {
        "permitted": True,
        "fields": [f"{CENSUS}.{f}" for f in ("upn", "given_name", "family_name", "address")],
        "person_pseudonym": False,
    }
    agreement = parse_agreement(data)
    trust.agreements.propose(agreement)
    for controller in agreement.controllers:
        trust.agreements.sign(agreement.id, f"ig@{controller}.gov.uk")


@pytest.fixture
def fsm_world(world: Trust) -> Trust:
    _activate_fsm(world)
    return world


def _expected(trust: Trust) -> list[str]:
    rows = trust.ingest.read_version(CENSUS).to_pylist()
    return sorted(r["upn"] for r in rows if r["home_borough"] == "islington" and r["fsm"])


def test_islington_gets_exactly_its_resident_fsm_pupils(fsm_world: Trust) -> None:
    release = fsm_world.queries.ask(ANA, AGREEMENT, "fsm-support", LIST_SQL)
    assert release.table.column_names == ["upn", "given_name", "family_name", "address"]
    assert release.table.column("upn").to_pylist() == _expected(fsm_world)
    assert release.output == "record-level"


def test_the_release_is_recorded_with_its_event_and_contributors(fsm_world: Trust) -> None:
    release = fsm_world.queries.ask(ANA, AGREEMENT, "fsm-support", LIST_SQL)
    made = _events(fsm_world, ReleaseMade)
    assert [e.release_id for e in made] == [release.id]
    assert made[0].agreement == AGREEMENT and made[0].rows_out == release.rows_out
    contributors = fsm_world.queries.contributors(release.id)
    assert sorted(contributors.column("record_key").to_pylist()) == _expected(fsm_world)


@pytest.mark.parametrize(
    "sql",
    [
        f"SELECT upn, ethnicity FROM {C}",
        f"SELECT upn, nhs_number FROM {C}",
        f"SELECT upn, home_borough FROM {C}",
        f"SELECT upn, fsm FROM {C}",
        f"SELECT upn, age FROM {C}",
    ],
)
def test_no_other_column_leaves(sworld_fsm: Trust, sql: str) -> None:
    with pytest.raises(QueryRefused):
        sworld_fsm.queries.ask(ANA, AGREEMENT, "fsm-support", sql)


def test_no_non_resident_pupil_leaves(sworld_fsm: Trust) -> None:
    release = sworld_fsm.queries.ask(
        ANA, AGREEMENT, "fsm-support", f"SELECT upn FROM {C} WHERE NOT fsm OR TRUE"
    )
    assert set(release.table.column("upn").to_pylist()) == set(_expected(sworld_fsm))


def test_the_wrong_purpose_is_refused_and_logged(sworld_fsm: Trust) -> None:
    with pytest.raises(QueryRefused) as refused:
        sworld_fsm.queries.ask(ANA, AGREEMENT, "research", LIST_SQL)
    assert refused.value.lock == "agreement"
    logged = _events(sworld_fsm, QueryRefusedEvent)
    assert logged and logged[-1].purpose == "research"


def test_a_member_that_is_not_a_recipient_is_refused(sworld_fsm: Trust) -> None:
    with pytest.raises(QueryRefused):
        sworld_fsm.queries.ask("hal@hackney.gov.uk", AGREEMENT, "fsm-support", LIST_SQL)


def test_after_expiry_the_agreement_answers_nothing(sworld_fsm: Trust) -> None:
    later = datetime.now(UTC) + timedelta(days=400)
    with pytest.raises(QueryRefused):
        sworld_fsm.queries.ask(ANA, AGREEMENT, "fsm-support", LIST_SQL, at=later)


@pytest.fixture
def sworld_fsm(sworld: Trust) -> Trust:
    _activate_fsm(sworld)
    return sworld


def _events(trust: Trust, kind: type) -> list:
    from sqlalchemy import select

    from accord.core.store.models import EventRow
    from accord.events import load_event

    with trust.store.sessions() as session:
        rows = session.scalars(
            select(EventRow).where(EventRow.kind == kind.kind).order_by(EventRow.seq)
        )
        return [load_event(r.kind, r.payload) for r in rows]

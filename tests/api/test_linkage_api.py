"""Linkage through the API: runs, status, the review queue, decisions and explanations.

One small linked world (two boroughs' extracts of ~120 synthetic households, the FSM agreement
active, one linkage run) is built once and copied for each test, so a test that decides a pair
does not change another's queue.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from accord import Trust
from accord.agreements.model import parse_agreement
from accord.agreements.templates import render_template
from accord.interfaces.api import create_app
from tests.api.conftest import bearer
from tests.linkage.conftest import FAST, make_boroughs
from tests.linkage.people import RESIDENTS_CONTRACT, SCHOOL_CONTRACT

pytestmark = pytest.mark.filterwarnings("ignore:Arrow output on a DB-API result")

AGREEMENT = "fsm-camden-islington"
PUPILS, RESIDENTS = "camden/pupils", "islington/residents"
BASE = f"/api/v1/agreements/{AGREEMENT}/linkage"


@dataclass
class LinkagePeople:
    """Tokens of the people of the linked world."""

    admin: str
    camden_owner: str
    islington_owner: str
    camden_analyst: str
    islington_analyst: str
    hackney_owner: str


def build_linkage_world(trust: Trust, households: int = 60) -> LinkagePeople:
    """Two boroughs' pupils and residents, the FSM agreement over them signed by both; no run."""
    boroughs = make_boroughs(households=households)
    catalogue = trust.catalogue
    for member, title in (
        ("trust-ops", "The trust's operators"),
        ("camden", "London Borough of Camden"),
        ("islington", "London Borough of Islington"),
        ("hackney", "London Borough of Hackney"),
    ):
        catalogue.add_member(member, title)
    for member in ("camden", "islington"):
        catalogue.add_user(f"ig@{member}.test", member, ["ig-lead"])
    for spec, table, ref in (
        (SCHOOL_CONTRACT, boroughs.school, PUPILS),
        (RESIDENTS_CONTRACT, boroughs.residents, RESIDENTS),
    ):
        catalogue.register_dataset(spec)
        trust.ingest.ingest(ref, table)
    data = yaml.safe_load(render_template("fsm", today=date.today()))
    data["datasets"] = [
        {
            "dataset": PUPILS,
            "fields": [
                "given_name",
                "family_name",
                "date_of_birth",
                "home_postcode",
                "home_address",
            ],
        },
        {
            "dataset": RESIDENTS,
            "fields": [
                "resident_id",
                "given_name",
                "family_name",
                "date_of_birth",
                "postcode",
                "address",
            ],
        },
    ]
    data["outputs"]["record_level"]["fields"] = [f"{RESIDENTS}.resident_id"]
    agreement = parse_agreement(data)
    trust.agreements.propose(agreement)
    for controller in agreement.controllers:
        trust.agreements.sign(agreement.id, f"ig@{controller}.test")

    def token(email: str, member: str, role: str) -> str:
        return catalogue.add_user(email, member, [role])[1]

    return LinkagePeople(
        admin=token("admin@trust.test", "trust-ops", "admin"),
        camden_owner=token("owner@camden.test", "camden", "data-owner"),
        islington_owner=token("owner@islington.test", "islington", "data-owner"),
        camden_analyst=token("analyst@camden.test", "camden", "analyst"),
        islington_analyst=token("analyst@islington.test", "islington", "analyst"),
        hackney_owner=token("owner@hackney.test", "hackney", "data-owner"),
    )


@dataclass
class LinkedTemplate:
    home: Path
    people: LinkagePeople


@pytest.fixture(scope="session")
def linked_template(tmp_path_factory: pytest.TempPathFactory) -> LinkedTemplate:
    """A linked world built once (a run takes ~15 s) and copied by ``linked_world``."""
    home = tmp_path_factory.mktemp("linked") / "home"
    with Trust.init(home, actor="tester@accord.test") as trust:
        people = build_linkage_world(trust)
        trust.linkage.run(AGREEMENT, config=FAST)
    return LinkedTemplate(home, people)


def open_copy(template: LinkedTemplate, into: Path) -> Trust:
    """A fresh copy of the linked world, opened."""
    home = into / "home"
    shutil.copytree(template.home, home)
    return Trust.open(home, actor="tester@accord.test")


@pytest.fixture
def linked(linked_template: LinkedTemplate, tmp_path: Path) -> Iterator[Trust]:
    trust = open_copy(linked_template, tmp_path)
    yield trust
    trust.close()


@pytest.fixture
def people(linked_template: LinkedTemplate) -> LinkagePeople:
    return linked_template.people


@pytest.fixture
def client(linked: Trust) -> Iterator[TestClient]:
    with TestClient(create_app(linked, web=False)) as test_client:
        yield test_client


def _queue(client: TestClient, token: str, **params: object) -> dict:
    response = client.get(f"{BASE}/review", headers=bearer(token), params=params)
    assert response.status_code == 200, response.text
    return response.json()


# -- runs ------------------------------------------------------------------------------------


def test_a_controllers_data_owner_runs_linkage_and_gets_person_keys(trust: Trust) -> None:
    # On both metadata backends: the run is recorded in the store.
    people = build_linkage_world(trust, households=30)
    with TestClient(create_app(trust, web=False)) as client:
        response = client.post(f"{BASE}/runs", headers=bearer(people.islington_owner), json={})
        assert response.status_code == 201, response.text
        run = response.json()
        assert run["number"] == 1 and run["datasets"] == [PUPILS, RESIDENTS]
        status = client.get(BASE, headers=bearer(people.islington_owner)).json()
    assert status["run"]["number"] == 1 and status["person_keys"] == run["clusters"]
    assert trust.linkage.keys_path(AGREEMENT) is not None


def test_an_analyst_may_not_run_linkage(client: TestClient, people: LinkagePeople) -> None:
    response = client.post(f"{BASE}/runs", headers=bearer(people.camden_analyst), json={})
    assert response.status_code == 403
    assert response.json()["code"] == "permission-denied"
    assert "data-owner" in response.json()["detail"]


def test_an_unknown_backend_is_refused_as_problem_details(
    client: TestClient, people: LinkagePeople
) -> None:
    response = client.post(f"{BASE}/runs", headers=bearer(people.admin), json={"backend": "excel"})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert any(e.startswith("backend") for e in response.json()["errors"])


# -- who sees what ---------------------------------------------------------------------------


def test_an_analyst_of_a_party_sees_the_status_but_not_the_queue(
    client: TestClient, people: LinkagePeople
) -> None:
    status = client.get(BASE, headers=bearer(people.islington_analyst))
    assert status.status_code == 200 and status.json()["review_open"] > 0
    queue = client.get(f"{BASE}/review", headers=bearer(people.islington_analyst))
    assert queue.status_code == 403
    assert "identifiers" in queue.json()["detail"]


def test_a_member_not_party_to_the_agreement_sees_nothing(
    client: TestClient, people: LinkagePeople
) -> None:
    pair = _queue(client, people.admin)["items"][0]
    headers = bearer(people.hackney_owner)
    for response in (
        client.get(BASE, headers=headers),
        client.get(f"{BASE}/review", headers=headers),
        client.get(
            f"{BASE}/explain",
            headers=headers,
            params={"a": pair["record_a"], "b": pair["record_b"]},
        ),
        client.post(
            f"{BASE}/review",
            headers=headers,
            json={"record_a": pair["record_a"], "record_b": pair["record_b"], "decision": "accept"},
        ),
    ):
        assert response.status_code == 403
        assert "hackney" in response.json()["detail"]


def test_linkage_of_an_unknown_agreement_is_not_found(
    client: TestClient, people: LinkagePeople
) -> None:
    response = client.get("/api/v1/agreements/no-such-thing/linkage", headers=bearer(people.admin))
    assert response.status_code == 404
    assert response.json()["code"] == "not-found"


def test_linkage_needs_a_token(client: TestClient) -> None:
    assert client.get(BASE).status_code == 401


# -- the review queue ------------------------------------------------------------------------


def test_the_queue_is_paginated_most_likely_first(
    client: TestClient, people: LinkagePeople
) -> None:
    whole = _queue(client, people.camden_owner, limit=500)
    page = _queue(client, people.camden_owner, offset=1, limit=2)
    assert page["total"] == whole["total"] > 2
    assert page["items"] == whole["items"][1:3]
    probabilities = [item["match_probability"] for item in whole["items"]]
    assert probabilities == sorted(probabilities, reverse=True)


def test_accepting_a_pair_takes_it_off_the_queue(client: TestClient, people: LinkagePeople) -> None:
    before = _queue(client, people.islington_owner, limit=500)
    pair = before["items"][0]
    response = client.post(
        f"{BASE}/review",
        headers=bearer(people.islington_owner),
        json={"record_a": pair["record_a"], "record_b": pair["record_b"], "decision": "accept"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "accepted"
    assert response.json()["reviewer"] == "owner@islington.test"
    after = _queue(client, people.islington_owner, limit=500)
    assert after["total"] == before["total"] - 1
    assert pair["id"] not in {item["id"] for item in after["items"]}
    decided = _queue(client, people.islington_owner, limit=500, include_decided=True)
    assert {"id": pair["id"], "status": "accepted"}.items() <= next(
        i for i in decided["items"] if i["id"] == pair["id"]
    ).items()


def test_a_decision_must_say_accept_or_reject(client: TestClient, people: LinkagePeople) -> None:
    queue = _queue(client, people.admin)
    pair = queue["items"][0]
    response = client.post(
        f"{BASE}/review",
        headers=bearer(people.admin),
        json={"record_a": pair["record_a"], "record_b": pair["record_b"], "decision": "maybe"},
    )
    assert response.status_code == 422
    assert response.json()["code"] == "invalid-input"
    assert _queue(client, people.admin)["total"] == queue["total"] > 0


def test_a_malformed_record_reference_is_refused_with_the_expected_form(
    client: TestClient, people: LinkagePeople
) -> None:
    response = client.post(
        f"{BASE}/review",
        headers=bearer(people.admin),
        json={"record_a": "pupil 12", "record_b": f"{RESIDENTS}:R1", "decision": "reject"},
    )
    assert response.status_code == 422
    assert "MEMBER/DATASET:KEY" in response.json()["detail"]


def test_an_analyst_may_not_decide_a_pair(client: TestClient, people: LinkagePeople) -> None:
    queue = _queue(client, people.admin)
    pair = queue["items"][0]
    response = client.post(
        f"{BASE}/review",
        headers=bearer(people.camden_analyst),
        json={"record_a": pair["record_a"], "record_b": pair["record_b"], "decision": "reject"},
    )
    assert response.status_code == 403
    assert _queue(client, people.admin)["total"] == queue["total"]
    assert pair["id"] in {i["id"] for i in _queue(client, people.admin, limit=500)["items"]}


# -- explanations ----------------------------------------------------------------------------


def test_a_pair_is_explained_comparison_by_comparison(
    client: TestClient, people: LinkagePeople
) -> None:
    pair = _queue(client, people.camden_owner)["items"][0]
    response = client.get(
        f"{BASE}/explain",
        headers=bearer(people.camden_owner),
        params={"a": pair["record_a"], "b": pair["record_b"]},
    )
    assert response.status_code == 200, response.text
    found = response.json()
    names = [step["comparison"] for step in found["steps"]]
    assert names[0] == "Prior" and "given_name" in names
    assert abs(sum(s["weight"] for s in found["steps"]) - found["match_weight"]) < 0.01
    assert abs(found["match_probability"] - pair["match_probability"]) < 1e-6


def test_explaining_a_record_outside_the_run_is_not_found(
    client: TestClient, people: LinkagePeople
) -> None:
    response = client.get(
        f"{BASE}/explain",
        headers=bearer(people.admin),
        params={"a": f"{PUPILS}:NOBODY", "b": f"{RESIDENTS}:NOBODY"},
    )
    assert response.status_code == 404
    assert "NOBODY" in response.json()["detail"]

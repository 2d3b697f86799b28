"""A trust with two councils and their people, served by the API through a test client."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from accord import Trust
from accord.interfaces.api import create_app

PUPILS_CONTRACT = {
    "name": "pupils",
    "owner": "camden",
    "title": "Camden pupils",
    "freshness_sla_days": 120,
    "schema": {
        "primaryKey": "pupil_id",
        "fields": [
            {
                "name": "pupil_id",
                "type": "string",
                "constraints": {"required": True, "unique": True},
            },
            {
                "name": "date_of_birth",
                "type": "date",
                "accord": {"category": "personal", "role": "date_of_birth"},
            },
            {
                "name": "fsm_eligible",
                "type": "boolean",
                "trueValues": ["Y"],
                "falseValues": ["N"],
                "accord": {"category": "personal"},
            },
        ],
    },
}

# Two good rows and two that break the contract (a bad date, a bad boolean).
PUPILS_CSV = (
    b"pupil_id,date_of_birth,fsm_eligible\n"
    b"P1,2014-03-01,Y\n"
    b"P2,2014-02-30,N\n"
    b"P3,2013-11-12,N\n"
    b"P4,2013-07-07,maybe\n"
)


@dataclass
class People:
    """API tokens of the people in the test trust."""

    admin: str
    camden_owner: str
    camden_analyst: str
    camden_ig: str
    hackney_owner: str
    hackney_ig: str


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def add_people(trust: Trust) -> People:
    catalogue = trust.catalogue
    catalogue.add_member("trust-ops", "The trust's operators")
    catalogue.add_member("camden", "London Borough of Camden")
    catalogue.add_member("hackney", "London Borough of Hackney")
    return People(
        admin=catalogue.add_user("admin@trust.test", "trust-ops", ["admin"])[1],
        camden_owner=catalogue.add_user("owner@camden.gov.uk", "camden", ["data-owner"])[1],
        camden_analyst=catalogue.add_user("analyst@camden.gov.uk", "camden", ["analyst"])[1],
        camden_ig=catalogue.add_user("ig@camden.gov.uk", "camden", ["ig-lead"])[1],
        hackney_owner=catalogue.add_user("owner@hackney.gov.uk", "hackney", ["data-owner"])[1],
        hackney_ig=catalogue.add_user("ig@hackney.gov.uk", "hackney", ["ig-lead"])[1],
    )


@pytest.fixture
def people(trust: Trust) -> People:
    return add_people(trust)


@pytest.fixture
def client(trust: Trust, people: People) -> Iterator[TestClient]:
    with TestClient(create_app(trust, web=False, max_upload=64 * 1024)) as test_client:
        yield test_client


@pytest.fixture
def pupils(trust: Trust, people: People) -> str:
    trust.catalogue.register_dataset(PUPILS_CONTRACT)
    return "camden/pupils"

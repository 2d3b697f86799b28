"""The citizen API: sign in with a one-time code, then read your own report."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from accord import Trust
from accord.interfaces.api import create_app
from tests.citizen.conftest import DOB, pupil
from tests.query.conftest import _nhs

pytestmark = pytest.mark.filterwarnings("ignore:Arrow output on a DB-API result")


@pytest.fixture
def client(census: Trust) -> TestClient:
    return TestClient(create_app(census, web=False))


def _token(client: TestClient, trust: Trust, i: int = 1) -> str:
    code = trust.citizen.issue_code(pupil(i))
    response = client.post(
        "/api/v1/citizen/sign-in",
        json={"nhs_number": _nhs(i), "date_of_birth": DOB, "code": code},
    )
    assert response.status_code == 200, response.text
    return response.json()["token"]


def test_a_signed_in_citizen_reads_their_report(client: TestClient, census: Trust) -> None:
    token = _token(client, census)
    response = client.get("/api/v1/citizen/report", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert [u["organisation_id"] for u in response.json()["uses"]] == ["islington"]


def test_the_report_needs_a_citizen_token(client: TestClient, census: Trust) -> None:
    assert client.get("/api/v1/citizen/report").status_code == 401
    staff = census.catalogue.rotate_token("ana@islington.gov.uk")
    response = client.get("/api/v1/citizen/report", headers={"Authorization": f"Bearer {staff}"})
    assert response.status_code == 401


def test_too_many_lookups_get_429(client: TestClient, census: Trust) -> None:
    headers = {"Authorization": f"Bearer {_token(client, census)}"}
    statuses = [client.get("/api/v1/citizen/report", headers=headers).status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]


def test_a_wrong_code_is_401(client: TestClient, census: Trust) -> None:
    census.citizen.issue_code(pupil(1))
    response = client.post(
        "/api/v1/citizen/sign-in",
        json={"nhs_number": _nhs(1), "date_of_birth": DOB, "code": "999999x"},
    )
    assert response.status_code == 401

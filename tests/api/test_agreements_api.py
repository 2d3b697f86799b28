"""Agreements through the API: propose, lint, sign with detached signatures, revoke."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from accord import Trust
from accord.agreements.model import Agreement
from accord.agreements.signing import sign_agreement
from accord.core.crypto.keys import SigningKey, load_private_key
from accord.interfaces.api import create_app
from tests.agreements.conftest import ig, populate, template
from tests.api.conftest import bearer


@pytest.fixture
def fsm_client(sqlite_trust: Trust) -> TestClient:
    populate(sqlite_trust)
    return TestClient(create_app(sqlite_trust, web=False))


def token(trust: Trust, email: str) -> str:
    return trust.catalogue.rotate_token(email)


def _json(agreement: Agreement) -> dict:
    return agreement.model_dump(mode="json", exclude_none=True)


def _signature(trust: Trust, agreement: Agreement, member: str) -> dict:
    key = load_private_key(trust.catalogue.member_key_path(member))
    return sign_agreement(agreement, key).model_dump()


def test_an_ig_lead_proposes_and_two_detached_signatures_make_it_active(
    fsm_client: TestClient, sqlite_trust: Trust
) -> None:
    fsm = template("fsm")
    proposed = fsm_client.post(
        "/api/v1/agreements", json=_json(fsm), headers=bearer(token(sqlite_trust, ig("camden")))
    )
    assert proposed.status_code == 201, proposed.text
    for member in fsm.controllers:
        signed = fsm_client.post(
            f"/api/v1/agreements/{fsm.id}/signatures",
            json=_signature(sqlite_trust, fsm, member),
            headers=bearer(token(sqlite_trust, ig(member))),
        )
        assert signed.status_code == 201, signed.text
    detail = fsm_client.get(
        f"/api/v1/agreements/{fsm.id}", headers=bearer(token(sqlite_trust, "analyst@camden.test"))
    ).json()
    assert detail["status"]["state"] == "active"
    assert any("Why:" in line for line in detail["plain_english"])


def test_an_analyst_cannot_sign(fsm_client: TestClient, sqlite_trust: Trust) -> None:
    fsm = template("fsm")
    sqlite_trust.agreements.propose(fsm)
    response = fsm_client.post(
        f"/api/v1/agreements/{fsm.id}/signatures",
        json=_signature(sqlite_trust, fsm, "camden"),
        headers=bearer(token(sqlite_trust, "analyst@camden.test")),
    )
    assert response.status_code == 403
    assert "ig-lead" in response.json()["detail"]
    assert sqlite_trust.agreements.status(fsm.id).signatures == []


def test_a_forged_signature_is_refused_and_nothing_recorded(
    fsm_client: TestClient, sqlite_trust: Trust
) -> None:
    fsm = template("fsm")
    sqlite_trust.agreements.propose(fsm)
    forged = sign_agreement(fsm, SigningKey.generate()).model_dump()
    response = fsm_client.post(
        f"/api/v1/agreements/{fsm.id}/signatures",
        json=forged,
        headers=bearer(token(sqlite_trust, ig("camden"))),
    )
    assert response.status_code == 409
    assert response.json()["code"] == "integrity-error"
    assert sqlite_trust.agreements.status(fsm.id).signatures == []


def test_lint_reports_findings_without_storing(fsm_client: TestClient, sqlite_trust: Trust) -> None:
    broken = _json(template("fsm"))
    broken.pop("lawful_basis")
    response = fsm_client.post(
        "/api/v1/agreements/lint", json=broken, headers=bearer(token(sqlite_trust, ig("camden")))
    )
    assert response.status_code == 200
    assert response.json()["ok"] is False and response.json()["findings"]
    assert sqlite_trust.agreements.list() == []


def test_a_controllers_ig_lead_revokes_and_the_agreement_grants_nothing(
    fsm_client: TestClient, sqlite_trust: Trust
) -> None:
    fsm = template("fsm")
    sqlite_trust.agreements.propose(fsm)
    refused = fsm_client.post(
        f"/api/v1/agreements/{fsm.id}/revoke",
        json={"reason": "no longer needed"},
        headers=bearer(token(sqlite_trust, ig("hackney"))),
    )
    assert refused.status_code == 403
    revoked = fsm_client.post(
        f"/api/v1/agreements/{fsm.id}/revoke",
        json={"reason": "no longer needed"},
        headers=bearer(token(sqlite_trust, ig("islington"))),
    )
    assert revoked.status_code == 200
    assert revoked.json()["state"] == "revoked"

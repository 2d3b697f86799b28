"""Bearer tokens, roles and RFC 9457 problem details."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import People, bearer


def test_a_request_without_a_token_gets_a_401_problem_saying_how_to_authenticate(
    client: TestClient,
) -> None:
    response = client.get("/api/v1/datasets")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"
    problem = response.json()
    assert problem["status"] == 401 and problem["code"] == "not-authenticated"
    assert "Authorization: Bearer" in problem["detail"]


def test_an_unknown_token_is_refused(client: TestClient) -> None:
    response = client.get("/api/v1/me", headers=bearer("acc_forged"))
    assert response.status_code == 401
    assert "not valid" in response.json()["detail"]


def test_a_token_identifies_its_user(client: TestClient, people: People) -> None:
    me = client.get("/api/v1/me", headers=bearer(people.camden_analyst)).json()
    assert me["email"] == "analyst@camden.gov.uk" and me["roles"] == ["analyst"]


def test_an_analyst_cannot_add_a_member_and_is_told_which_role_is_needed(
    client: TestClient, people: People
) -> None:
    response = client.post(
        "/api/v1/members",
        json={"name": "islington", "title": "Islington"},
        headers=bearer(people.camden_analyst),
    )
    assert response.status_code == 403
    problem = response.json()
    assert problem["code"] == "permission-denied"
    assert "admin role" in problem["detail"]


def test_an_admin_issues_a_token_that_works_until_it_is_rotated(
    client: TestClient, people: People
) -> None:
    issued = client.post(
        "/api/v1/users",
        json={"email": "new@camden.gov.uk", "member": "camden", "roles": ["analyst"]},
        headers=bearer(people.admin),
    )
    assert issued.status_code == 201
    token = issued.json()["token"]
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    rotated = client.post("/api/v1/users/new@camden.gov.uk/token", headers=bearer(token))
    assert rotated.status_code == 200
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401
    assert client.get("/api/v1/me", headers=bearer(rotated.json()["token"])).status_code == 200


def test_a_user_cannot_rotate_someone_elses_token(client: TestClient, people: People) -> None:
    response = client.post(
        "/api/v1/users/owner@camden.gov.uk/token", headers=bearer(people.camden_analyst)
    )
    assert response.status_code == 403
    assert client.get("/api/v1/me", headers=bearer(people.camden_owner)).status_code == 200


def test_a_deactivated_user_is_locked_out(client: TestClient, people: People) -> None:
    gone = client.delete("/api/v1/users/analyst@camden.gov.uk", headers=bearer(people.admin))
    assert gone.status_code == 204
    assert client.get("/api/v1/me", headers=bearer(people.camden_analyst)).status_code == 401


def test_users_outside_admin_see_only_their_own_members_people(
    client: TestClient, people: People
) -> None:
    listed = client.get("/api/v1/users", headers=bearer(people.hackney_owner)).json()
    assert {u["member"] for u in listed["items"]} == {"hackney"}
    everyone = client.get("/api/v1/users", headers=bearer(people.admin)).json()
    assert everyone["total"] == 6


def test_an_invalid_parameter_is_a_422_problem_naming_it(
    client: TestClient, people: People
) -> None:
    response = client.get("/api/v1/members?limit=0", headers=bearer(people.admin))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert any("limit" in error for error in response.json()["errors"])


def test_an_unknown_thing_is_a_404_problem(client: TestClient, people: People) -> None:
    response = client.get("/api/v1/members/nobody", headers=bearer(people.admin))
    assert response.status_code == 404
    assert response.json()["code"] == "not-found"
    assert response.json()["instance"] == "/api/v1/members/nobody"


def test_lists_are_paginated(client: TestClient, people: People) -> None:
    page = client.get("/api/v1/members?offset=1&limit=1", headers=bearer(people.admin)).json()
    assert page["total"] == 3 and page["offset"] == 1 and page["limit"] == 1
    assert [m["name"] for m in page["items"]] == ["hackney"]


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    ready = client.get("/readyz").json()
    assert ready == {"status": "ok", "checks": {"database": "ok", "home": "ok"}}


def test_the_openapi_schema_documents_the_api(client: TestClient) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/datasets/{member}/{name}/versions" in schema["paths"]
    upload = schema["paths"]["/api/v1/datasets/{member}/{name}/versions"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]

"""The audit log through the API."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import People, bearer


def test_the_log_lists_what_happened_newest_first(client: TestClient, people: People) -> None:
    entries = client.get("/api/v1/audit/log?kind=user.added", headers=bearer(people.admin)).json()
    assert len(entries) == 6
    assert entries[0]["seq"] > entries[-1]["seq"]


def test_the_chain_verifies(client: TestClient, people: People) -> None:
    report = client.get("/api/v1/audit/verify", headers=bearer(people.camden_analyst)).json()
    assert report["ok"] is True and report["entries"] > 0


def test_only_an_admin_signs_a_checkpoint(client: TestClient, people: People) -> None:
    refused = client.post("/api/v1/audit/checkpoints", headers=bearer(people.camden_ig))
    assert refused.status_code == 403
    made = client.post("/api/v1/audit/checkpoints", headers=bearer(people.admin))
    assert made.status_code == 201
    listed = client.get("/api/v1/audit/checkpoints", headers=bearer(people.camden_ig)).json()
    assert [c["tree_size"] for c in listed] == [made.json()["tree_size"]]

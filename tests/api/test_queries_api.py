"""Queries through the API: the answer as JSON, CSV or Parquet, and the release record."""

from __future__ import annotations

import io

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from accord import Trust
from accord.interfaces.api import create_app
from tests.api.conftest import bearer
from tests.api.fsm_world import FSM_SQL, build_fsm_world


@pytest.fixture
def world(sqlite_trust: Trust) -> tuple[TestClient, Trust, str]:
    agreement = build_fsm_world(sqlite_trust)
    return TestClient(create_app(sqlite_trust, web=False)), sqlite_trust, agreement


def _ask(world, fmt: str = "json", email: str = "analyst@islington.test", sql: str = FSM_SQL):
    client, trust, agreement = world
    body = {"agreement": agreement, "purpose": "fsm-support", "sql": sql, "format": fmt}
    return client.post(
        "/api/v1/queries", json=body, headers=bearer(trust.catalogue.rotate_token(email))
    )


def test_an_analyst_gets_an_aggregate_with_small_counts_suppressed_and_the_reason(world) -> None:
    response = _ask(world)
    assert response.status_code == 201, response.text
    release = response.json()
    counts = {row["school_name"]: row["pupils"] for row in release["rows"]}
    assert counts["Brecknock Primary"] == 25
    assert counts.get("Rhyl Primary") is None  # 4 pupils: suppressed
    assert any("suppress" in note["action"] for note in release["notes"])


def test_the_release_downloads_as_csv_and_parquet(world) -> None:
    csv = _ask(world, "csv")
    assert csv.status_code == 201 and csv.headers["content-type"].startswith("text/csv")
    assert "Brecknock Primary" in csv.text
    parquet = _ask(world, "parquet")
    table = pq.read_table(io.BytesIO(parquet.content))
    assert "school_name" in table.column_names
    assert parquet.headers["x-accord-release"]


def test_the_release_is_recorded(world) -> None:
    made = _ask(world).json()
    client, trust, agreement = world
    listed = client.get(
        f"/api/v1/releases?agreement={agreement}",
        headers=bearer(trust.catalogue.rotate_token("ig@camden.test")),
    ).json()
    assert [r["id"] for r in listed["items"]] == [made["id"]]


def test_a_member_outside_the_agreement_is_refused_with_the_reason(world) -> None:
    response = _ask(world, email="analyst@hackney.test")
    assert response.status_code == 403
    assert response.json()["code"] == "query-refused"
    assert response.json()["detail"].startswith("Query refused")


def test_releases_are_listed_a_page_at_a_time_newest_first(world) -> None:
    made = [_ask(world).json()["id"] for _ in range(3)]
    client, trust, agreement = world
    headers = bearer(trust.catalogue.rotate_token("ig@camden.test"))
    url = f"/api/v1/releases?agreement={agreement}"
    whole = client.get(url, headers=headers).json()
    page = client.get(f"{url}&offset=1&limit=1", headers=headers).json()
    assert whole["total"] == page["total"] == len(whole["items"]) >= 3
    assert set(made) <= {r["id"] for r in whole["items"]}
    assert page["items"] == whole["items"][1:2]
    made_at = [r["made_at"] for r in whole["items"]]
    assert made_at == sorted(made_at, reverse=True)

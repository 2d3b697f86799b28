"""The catalogue through the API: contracts, uploads (the CLI's ingest path), quarantine."""

from __future__ import annotations

from fastapi.testclient import TestClient

from accord import Trust
from tests.api.conftest import PUPILS_CONTRACT, PUPILS_CSV, People, bearer

UPLOAD = "/api/v1/datasets/camden/pupils/versions"


def _upload(client: TestClient, token: str, body: bytes = PUPILS_CSV, name: str = "pupils.csv"):
    return client.post(UPLOAD, files={"file": (name, body, "text/csv")}, headers=bearer(token))


def test_a_data_owner_registers_their_members_dataset(client: TestClient, people: People) -> None:
    response = client.post(
        "/api/v1/datasets", json=PUPILS_CONTRACT, headers=bearer(people.camden_owner)
    )
    assert response.status_code == 201
    assert response.json()["member"] == "camden" and response.json()["name"] == "pupils"


def test_a_data_owner_cannot_register_a_dataset_for_another_member(
    client: TestClient, people: People
) -> None:
    response = client.post(
        "/api/v1/datasets", json=PUPILS_CONTRACT, headers=bearer(people.hackney_owner)
    )
    assert response.status_code == 403
    assert "acts for hackney" in response.json()["detail"]


def test_a_broken_contract_is_refused_with_the_reason(client: TestClient, people: People) -> None:
    broken = {**PUPILS_CONTRACT, "schema": {"fields": []}}
    response = client.post("/api/v1/datasets", json=broken, headers=bearer(people.camden_owner))
    assert response.status_code == 422
    assert response.json()["code"] == "invalid-input"


def test_an_upload_makes_a_version_and_quarantines_the_bad_rows(
    client: TestClient, people: People, pupils: str
) -> None:
    response = _upload(client, people.camden_owner)
    assert response.status_code == 201, response.text
    result = response.json()
    assert (result["version"], result["rows_accepted"], result["rows_quarantined"]) == (1, 2, 2)
    versions = client.get(UPLOAD, headers=bearer(people.camden_analyst)).json()
    assert [v["number"] for v in versions["items"]] == [1]
    assert versions["items"][0]["source_name"] == "pupils.csv"


def test_the_owner_sees_each_quarantined_row_with_its_reason(
    client: TestClient, people: People, pupils: str
) -> None:
    _upload(client, people.camden_owner)
    quarantine = client.get(
        "/api/v1/datasets/camden/pupils/quarantine", headers=bearer(people.camden_owner)
    ).json()
    assert quarantine["total"] == 2
    assert {row["field"] for row in quarantine["rows"]} == {"date_of_birth", "fsm_eligible"}
    assert all(row["reason"] for row in quarantine["rows"])


def test_another_members_data_owner_can_neither_upload_nor_see_the_quarantine(
    client: TestClient, people: People, pupils: str, trust: Trust
) -> None:
    assert _upload(client, people.hackney_owner).status_code == 403
    assert trust.catalogue.versions(pupils) == []
    _upload(client, people.camden_owner)
    response = client.get(
        "/api/v1/datasets/camden/pupils/quarantine", headers=bearer(people.hackney_owner)
    )
    assert response.status_code == 403


def test_an_analyst_cannot_upload(client: TestClient, people: People, pupils: str) -> None:
    response = _upload(client, people.camden_analyst)
    assert response.status_code == 403
    assert "data-owner" in response.json()["detail"]


def test_an_upload_over_the_size_limit_is_refused_and_leaves_nothing_behind(
    client: TestClient, people: People, pupils: str, trust: Trust
) -> None:
    big = PUPILS_CSV + b"P9,2014-01-01,N\n" * 10_000  # over the test app's 64 KiB limit
    response = _upload(client, people.camden_owner, big)
    assert response.status_code == 413
    assert response.json()["code"] == "upload-too-large"
    assert trust.catalogue.versions(pupils) == []
    uploads = trust.home / "tmp" / "uploads"
    assert not uploads.exists() or not any(uploads.iterdir())


def test_a_streamed_upload_is_cut_off_at_the_limit_without_a_declared_length(
    client: TestClient, people: People, pupils: str, trust: Trust
) -> None:
    def body():  # chunked: no Content-Length, so the limit must be enforced while streaming
        yield b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="p.csv"\r\n\r\n'
        yield PUPILS_CSV
        for _ in range(100):
            yield b"P9,2014-01-01,N\n" * 100
        yield b"\r\n--XyZ--\r\n"

    response = client.post(
        UPLOAD,
        content=body(),
        headers={
            **bearer(people.camden_owner),
            "Content-Type": "multipart/form-data; boundary=XyZ",
        },
    )
    assert response.status_code == 413
    assert trust.catalogue.versions(pupils) == []
    assert list((trust.home / "tmp" / "uploads").iterdir()) == []


def test_an_upload_without_a_file_is_a_clear_422(
    client: TestClient, people: People, pupils: str
) -> None:
    response = client.post(
        UPLOAD,
        data={"mode": "replace"},
        files={"other": ("x", b"1")},
        headers=bearer(people.camden_owner),
    )
    assert response.status_code == 422
    assert "file" in response.json()["detail"]


def test_an_unreadable_file_changes_nothing(
    client: TestClient, people: People, pupils: str, trust: Trust
) -> None:
    response = _upload(client, people.camden_owner, b"\x00\x01\x02garbage" * 10, "pupils.csv")
    assert response.status_code == 422
    assert trust.catalogue.versions(pupils) == []


def test_an_upload_to_an_unknown_dataset_is_a_404(client: TestClient, people: People) -> None:
    response = client.post(
        "/api/v1/datasets/camden/nothing/versions",
        files={"file": ("a.csv", b"a\n1\n", "text/csv")},
        headers=bearer(people.camden_owner),
    )
    assert response.status_code == 404


def test_uploads_are_streamed_under_the_home_and_removed_after_ingest(
    client: TestClient, people: People, pupils: str, trust: Trust
) -> None:
    _upload(client, people.camden_owner)
    uploads = trust.home / "tmp" / "uploads"
    assert uploads.is_dir() and list(uploads.iterdir()) == []


def test_the_catalogue_lists_freshness(client: TestClient, people: People, pupils: str) -> None:
    _upload(client, people.camden_owner)
    listed = client.get("/api/v1/datasets", headers=bearer(people.hackney_ig)).json()
    [dataset] = listed["items"]
    assert dataset["fresh"] is True and dataset["freshness_sla_days"] == 120
    assert dataset["latest"]["rows_quarantined"] == 2


def test_upsert_mode_is_passed_to_ingest(client: TestClient, people: People, pupils: str) -> None:
    _upload(client, people.camden_owner)
    more = b"pupil_id,date_of_birth,fsm_eligible\nP5,2012-01-01,Y\n"
    response = client.post(
        UPLOAD + "?mode=upsert",
        files={"file": ("more.csv", more, "text/csv")},
        headers=bearer(people.camden_owner),
    )
    assert response.status_code == 201
    assert response.json()["mode"] == "upsert" and response.json()["row_count"] == 3

"""The catalogue, ingest and audit services refuse the wrong roles, whichever interface calls.

Each refusal is a PermissionDenied whose message says why, and nothing is changed or written.
The acting user is named on every event; with no user given, the trust operator acts and the
log says so.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from accord import Trust
from accord.catalogue.models import User
from accord.core.store.models import EventRow
from accord.errors import InvalidInput, PermissionDenied
from accord.interfaces.api import create_app
from tests.api.conftest import PUPILS_CONTRACT, PUPILS_CSV, add_people, bearer

OPERATOR = "operator:tester@accord.test"
PUPILS = "camden/pupils"


def actors(trust: Trust, kind: str) -> list[str]:
    with trust.store.sessions() as session:
        return list(session.scalars(select(EventRow.actor).where(EventRow.kind == kind)))


@pytest.fixture
def people(sqlite_trust: Trust) -> Trust:
    """A trust-wide admin (of trust-ops), and camden's and hackney's people."""
    add_people(sqlite_trust)
    return sqlite_trust


@pytest.fixture
def pupils(people: Trust) -> Trust:
    people.catalogue.register_dataset(PUPILS_CONTRACT)
    return people


@pytest.fixture
def csv(tmp_path: Path) -> Path:
    path = tmp_path / "pupils.csv"
    path.write_bytes(PUPILS_CSV)
    return path


def user(trust: Trust, email: str) -> User:
    return trust.catalogue.get_user(email)


# -- members and users -----------------------------------------------------------------------


def test_only_an_admin_adds_members_and_users(people: Trust) -> None:
    owner = user(people, "owner@camden.gov.uk")
    with pytest.raises(PermissionDenied) as refused:
        people.catalogue.add_member("islington", "Islington", actor=owner)
    assert refused.value.message == (
        "To add a member you need the admin role; owner@camden.gov.uk has data-owner"
    )
    with pytest.raises(PermissionDenied, match="To add a user you need the admin role"):
        people.catalogue.add_user("x@camden.gov.uk", "camden", ["admin"], actor=owner)
    assert [m.name for m in people.catalogue.list_members()] == ["camden", "hackney", "trust-ops"]
    assert "x@camden.gov.uk" not in {u.email for u in people.catalogue.list_users()}

    admin = user(people, "admin@trust.test")
    people.catalogue.add_member("islington", "Islington", actor=admin)
    people.catalogue.add_user("ig@islington.gov.uk", "islington", ["ig-lead"], actor=admin)
    assert actors(people, "member.added")[-1] == "admin@trust.test"
    assert actors(people, "user.added")[-1] == "admin@trust.test"


def test_without_a_user_the_operator_adds_people_and_is_named(people: Trust) -> None:
    assert actors(people, "member.added") == [OPERATOR] * 3
    assert actors(people, "user.added") == [OPERATOR] * 6


def test_anyone_rotates_their_own_token_but_only_an_admin_anyone_elses(people: Trust) -> None:
    analyst = user(people, "analyst@camden.gov.uk")
    with pytest.raises(PermissionDenied, match="To rotate another user's token you need"):
        people.catalogue.rotate_token("owner@camden.gov.uk", actor=analyst)
    token = people.catalogue.rotate_token("analyst@camden.gov.uk", actor=analyst)
    assert people.catalogue.authenticate(token).email == "analyst@camden.gov.uk"
    assert actors(people, "user.token-rotated") == ["analyst@camden.gov.uk"]


def test_only_an_admin_deactivates_a_user(people: Trust) -> None:
    ig = user(people, "ig@camden.gov.uk")
    with pytest.raises(PermissionDenied, match="To deactivate a user you need the admin role"):
        people.catalogue.deactivate_user("analyst@camden.gov.uk", actor=ig)
    assert user(people, "analyst@camden.gov.uk").active
    people.catalogue.deactivate_user(
        "analyst@camden.gov.uk", actor=user(people, "admin@trust.test")
    )
    assert not user(people, "analyst@camden.gov.uk").active
    assert actors(people, "user.deactivated") == ["admin@trust.test"]


def test_a_non_admin_lists_only_their_own_members_users(people: Trust) -> None:
    analyst = user(people, "analyst@camden.gov.uk")
    seen = people.catalogue.list_users(actor=analyst)
    assert {u.member for u in seen} == {"camden"} and len(seen) == 3
    with pytest.raises(PermissionDenied) as refused:
        people.catalogue.list_users("hackney", actor=analyst)
    assert "analyst@camden.gov.uk acts for camden and may list only its users" in str(refused.value)
    admin = user(people, "admin@trust.test")
    assert len(people.catalogue.list_users(actor=admin)) == 6
    assert len(people.catalogue.list_users()) == 6  # the operator


def test_a_deactivated_admin_may_not_act(people: Trust) -> None:
    people.catalogue.deactivate_user("admin@trust.test")
    with pytest.raises(PermissionDenied, match=r"admin@trust\.test is deactivated"):
        people.catalogue.add_member(
            "islington", "Islington", actor=user(people, "admin@trust.test")
        )


# -- datasets --------------------------------------------------------------------------------


def test_an_analyst_may_not_register_a_dataset(people: Trust) -> None:
    analyst = user(people, "analyst@camden.gov.uk")
    with pytest.raises(PermissionDenied) as refused:
        people.catalogue.register_dataset(PUPILS_CONTRACT, actor=analyst)
    assert refused.value.message == (
        "To register camden/pupils you need the data-owner or admin role; "
        "analyst@camden.gov.uk has analyst"
    )
    assert people.catalogue.list_datasets() == []
    assert actors(people, "dataset.registered") == []


def test_a_data_owner_of_another_member_may_not_register_or_change_a_contract(
    pupils: Trust,
) -> None:
    hackney = user(pupils, "owner@hackney.gov.uk")
    changed = {**PUPILS_CONTRACT, "title": "Pupils (changed)"}
    with pytest.raises(PermissionDenied) as refused:
        pupils.catalogue.register_dataset(changed, replace=True, actor=hackney)
    assert (
        "To change the contract of camden/pupils you must be a data owner or admin acting for "
        "camden" in str(refused.value)
    )
    assert "owner@hackney.gov.uk acts for hackney" in str(refused.value)
    assert pupils.catalogue.get_dataset(PUPILS).title == "Camden pupils"


def test_a_data_owner_registers_and_is_named(people: Trust) -> None:
    people.catalogue.register_dataset(PUPILS_CONTRACT, actor=user(people, "owner@camden.gov.uk"))
    assert actors(people, "dataset.registered") == ["owner@camden.gov.uk"]


def test_without_a_user_the_operator_registers_and_is_named(pupils: Trust) -> None:
    assert actors(pupils, "dataset.registered") == [OPERATOR]


# -- ingest and quarantine -------------------------------------------------------------------


def test_a_data_owner_of_another_member_may_not_upload(pupils: Trust, csv: Path) -> None:
    hackney = user(pupils, "owner@hackney.gov.uk")
    with pytest.raises(PermissionDenied) as refused:
        pupils.ingest.ingest(PUPILS, csv, actor=hackney)
    assert refused.value.message.startswith(
        "To upload data to camden/pupils you must be a data owner or admin acting for camden; "
        "owner@hackney.gov.uk acts for hackney"
    )
    assert pupils.catalogue.versions(PUPILS) == []
    assert actors(pupils, "dataset.version-created") == []
    assert actors(pupils, "dataset.ingest-refused") == []


def test_an_analyst_of_the_member_may_not_upload(pupils: Trust, csv: Path) -> None:
    analyst = user(pupils, "analyst@camden.gov.uk")
    with pytest.raises(PermissionDenied, match="you need the data-owner or admin role"):
        pupils.ingest.ingest(PUPILS, csv, actor=analyst)
    assert pupils.catalogue.versions(PUPILS) == []


def test_the_data_owner_uploads_and_is_named_on_the_version_and_its_quarantine(
    pupils: Trust, csv: Path
) -> None:
    owner = user(pupils, "owner@camden.gov.uk")
    result = pupils.ingest.ingest(PUPILS, csv, actor=owner)
    assert (result.version, result.rows_quarantined) == (1, 2)
    assert actors(pupils, "dataset.version-created") == ["owner@camden.gov.uk"]
    assert actors(pupils, "dataset.rows-quarantined") == ["owner@camden.gov.uk"]


def test_a_refused_ingest_names_who_tried(pupils: Trust, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("pupil_id,date_of_birth,fsm_eligible\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="no data rows"):
        pupils.ingest.ingest(PUPILS, empty, actor=user(pupils, "owner@camden.gov.uk"))
    assert actors(pupils, "dataset.ingest-refused") == ["owner@camden.gov.uk"]


def test_an_admin_of_another_member_may_not_upload_but_the_operator_may(
    pupils: Trust, csv: Path
) -> None:
    with pytest.raises(PermissionDenied) as refused:
        pupils.ingest.ingest(PUPILS, csv, actor=user(pupils, "admin@trust.test"))
    assert "admin@trust.test acts for trust-ops" in refused.value.message
    pupils.ingest.ingest(PUPILS, csv)
    assert actors(pupils, "dataset.version-created") == [OPERATOR]


def test_only_the_members_own_data_owners_see_the_quarantine(pupils: Trust, csv: Path) -> None:
    pupils.ingest.ingest(PUPILS, csv)
    others = (
        "owner@hackney.gov.uk",
        "analyst@camden.gov.uk",
        "ig@camden.gov.uk",
        "admin@trust.test",
    )
    for email in others:
        with pytest.raises(PermissionDenied, match="see the rows quarantined from camden/pupils"):
            pupils.catalogue.quarantine(PUPILS, actor=user(pupils, email))
    owner = user(pupils, "owner@camden.gov.uk")
    assert pupils.catalogue.quarantine(PUPILS, actor=owner).num_rows == 2
    assert pupils.catalogue.quarantine(PUPILS, 1, actor=pupils.operator).num_rows == 2
    assert pupils.catalogue.may_look_after("camden", actor=owner)
    assert not pupils.catalogue.may_look_after("hackney", actor=owner)


# -- audit log -------------------------------------------------------------------------------


def test_a_non_admin_may_not_export_the_audit_log(people: Trust, tmp_path: Path) -> None:
    folder = tmp_path / "export"
    with pytest.raises(PermissionDenied) as refused:
        people.audit.export(folder, actor=user(people, "ig@camden.gov.uk"))
    assert refused.value.message == (
        "To export the audit log you need the admin role; ig@camden.gov.uk has ig-lead"
    )
    assert not folder.exists()
    assert actors(people, "audit.exported") == []


def test_an_admins_export_is_recorded_as_theirs(people: Trust, tmp_path: Path) -> None:
    summary = people.audit.export(tmp_path / "export", actor=user(people, "admin@trust.test"))
    assert summary.entries > 0
    assert actors(people, "audit.exported") == ["admin@trust.test"]
    (entry,) = people.audit.log(kind="audit.exported")
    assert entry.payload["by"] == "admin@trust.test"
    assert entry.payload["entries"] == summary.entries
    assert people.audit.verify().ok


def test_without_a_user_the_operator_exports_and_is_named(people: Trust, tmp_path: Path) -> None:
    people.audit.export(tmp_path / "export")
    assert actors(people, "audit.exported") == [OPERATOR]


def test_only_an_admin_signs_a_checkpoint(people: Trust) -> None:
    with pytest.raises(PermissionDenied, match="To sign an audit checkpoint you need the admin"):
        people.audit.checkpoint(actor=user(people, "owner@camden.gov.uk"))
    assert people.audit.checkpoints() == []
    signed = people.audit.checkpoint(actor=user(people, "admin@trust.test"))
    assert [c.tree_size for c in people.audit.checkpoints()] == [signed.tree_size]
    # Anyone may still read, verify and ask for a proof.
    assert people.audit.prove_inclusion(1).tree_size == signed.tree_size


# -- the API passes the signed-in user -------------------------------------------------------


def test_the_api_refuses_with_the_services_reason_and_names_the_uploader(
    sqlite_trust: Trust,
) -> None:
    tokens = add_people(sqlite_trust)
    sqlite_trust.catalogue.register_dataset(PUPILS_CONTRACT)
    upload = "/api/v1/datasets/camden/pupils/versions"
    files = {"file": ("pupils.csv", PUPILS_CSV, "text/csv")}
    with TestClient(create_app(sqlite_trust, web=False, max_upload=64 * 1024)) as client:
        refused = client.post(upload, files=files, headers=bearer(tokens.hackney_owner))
        assert refused.status_code == 403
        assert refused.json()["detail"].startswith(
            "To upload data to camden/pupils you must be a data owner or admin acting for camden"
        )
        other_admin = client.post(upload, files=files, headers=bearer(tokens.admin))
        assert other_admin.status_code == 403
        made = client.post(upload, files=files, headers=bearer(tokens.camden_owner))
        assert made.status_code == 201, made.text
        signed = client.post("/api/v1/audit/checkpoints", headers=bearer(tokens.camden_owner))
        assert "To sign an audit checkpoint you need the admin role" in signed.json()["detail"]
    assert actors(sqlite_trust, "dataset.version-created") == ["owner@camden.gov.uk"]

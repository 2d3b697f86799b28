"""`accord member/user/dataset/audit` act as the user named by ``--as``, with that user's roles,
and are refused what the API and web refuse them; without ``--as`` they act as the trust
operator, who is named in the log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from accord import Trust
from tests.api.conftest import PUPILS_CONTRACT, PUPILS_CSV, add_people
from tests.interfaces.cli.commands import accord, actors, refusal

PUPILS = "camden/pupils"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    with Trust.init(home, actor="cli-test") as trust:
        add_people(trust)
    return home


@pytest.fixture
def contract(tmp_path: Path) -> Path:
    path = tmp_path / "pupils.json"
    path.write_text(json.dumps(PUPILS_CONTRACT), encoding="utf-8")
    return path


@pytest.fixture
def csv(tmp_path: Path) -> Path:
    path = tmp_path / "pupils.csv"
    path.write_bytes(PUPILS_CSV)
    return path


@pytest.fixture
def registered(home: Path, contract: Path) -> Path:
    assert accord(home, "dataset", "register", str(contract)).exit_code == 0
    return home


# -- members and users -----------------------------------------------------------------------


def test_only_an_admin_adds_a_member_or_a_user(home: Path) -> None:
    add_member = ("member", "add", "islington", "--title", "Islington")
    reason = refusal(accord(home, *add_member, "--as", "owner@camden.gov.uk"))
    assert reason == "To add a member you need the admin role; owner@camden.gov.uk has data-owner"
    add_user = ("user", "add", "x@camden.gov.uk", "--member", "camden", "--role", "admin")
    assert "To add a user you need the admin role" in refusal(
        accord(home, *add_user, "--as", "ig@camden.gov.uk")
    )
    assert actors(home, "member.added") == ["operator:cli-test"] * 3

    assert accord(home, *add_member, "--as", "admin@trust.test").exit_code == 0
    assert accord(home, *add_user).exit_code == 0
    assert actors(home, "member.added")[-1] == "admin@trust.test"
    assert actors(home, "user.added")[-1] == "operator:cli-test"


def test_a_non_admin_lists_only_their_own_members_users(home: Path) -> None:
    listed = accord(home, "user", "list", "--as", "analyst@camden.gov.uk")
    assert listed.exit_code == 0, listed.output
    assert "owner@camden.gov.uk" in listed.output and "hackney" not in listed.output
    reason = refusal(
        accord(home, "user", "list", "--member", "hackney", "--as", "ig@camden.gov.uk")
    )
    assert "ig@camden.gov.uk acts for camden and may list only its users" in reason
    assert "owner@hackney.gov.uk" in accord(home, "user", "list").output  # the operator


# -- datasets --------------------------------------------------------------------------------


def test_an_analyst_may_not_register_a_dataset(home: Path, contract: Path) -> None:
    result = accord(home, "dataset", "register", str(contract), "--as", "analyst@camden.gov.uk")
    assert refusal(result) == (
        "To register camden/pupils you need the data-owner or admin role; "
        "analyst@camden.gov.uk has analyst"
    )
    assert actors(home, "dataset.registered") == []
    as_owner = ("dataset", "register", str(contract), "--as", "owner@camden.gov.uk")
    assert accord(home, *as_owner).exit_code == 0
    assert actors(home, "dataset.registered") == ["owner@camden.gov.uk"]


def test_a_data_owner_of_another_member_may_not_upload(registered: Path, csv: Path) -> None:
    result = accord(
        registered, "dataset", "ingest", PUPILS, str(csv), "--as", "owner@hackney.gov.uk"
    )
    reason = refusal(result)
    assert (
        "To upload data to camden/pupils you must be a data owner or admin acting for camden"
        in (reason)
    )
    assert "owner@hackney.gov.uk acts for hackney" in reason
    assert actors(registered, "dataset.version-created") == []


def test_the_data_owner_uploads_and_the_operator_may_too(registered: Path, csv: Path) -> None:
    as_owner = accord(
        registered, "dataset", "ingest", PUPILS, str(csv), "--as", "owner@camden.gov.uk"
    )
    assert as_owner.exit_code == 0, as_owner.output
    assert "Version 1 of camden/pupils" in as_owner.output
    assert accord(registered, "dataset", "ingest", PUPILS, str(csv)).exit_code == 0
    assert actors(registered, "dataset.version-created") == [
        "owner@camden.gov.uk",
        "operator:cli-test",
    ]


def test_only_the_owner_sees_the_quarantine(registered: Path, csv: Path) -> None:
    accord(registered, "dataset", "ingest", PUPILS, str(csv))
    quarantine = ("dataset", "quarantine", PUPILS)
    reason = refusal(accord(registered, *quarantine, "--as", "analyst@camden.gov.uk"))
    assert "To see the rows quarantined from camden/pupils you need the data-owner" in reason
    shown = accord(registered, *quarantine, "--as", "owner@camden.gov.uk")
    assert shown.exit_code == 0, shown.output
    assert "maybe" in shown.output  # the raw value the owner must fix


# -- audit log -------------------------------------------------------------------------------


def test_only_an_administrator_exports_the_log_and_the_exporter_is_named(
    home: Path, tmp_path: Path
) -> None:
    refused = tmp_path / "refused"
    reason = refusal(accord(home, "audit", "export", str(refused), "--as", "ig@camden.gov.uk"))
    assert reason == "To export the audit log you need the admin role; ig@camden.gov.uk has ig-lead"
    assert not refused.exists() and actors(home, "audit.exported") == []
    as_admin = accord(home, "audit", "export", str(tmp_path / "a"), "--as", "admin@trust.test")
    assert as_admin.exit_code == 0, as_admin.output
    assert accord(home, "audit", "export", str(tmp_path / "b")).exit_code == 0
    assert actors(home, "audit.exported") == ["admin@trust.test", "operator:cli-test"]
    assert accord(home, "audit", "verify").exit_code == 0


def test_only_an_administrator_signs_a_checkpoint(home: Path) -> None:
    reason = refusal(accord(home, "audit", "checkpoint", "--as", "analyst@camden.gov.uk"))
    assert "To sign an audit checkpoint you need the admin role" in reason
    assert accord(home, "audit", "checkpoint", "--as", "admin@trust.test").exit_code == 0

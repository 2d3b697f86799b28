"""The CLI acts as the user named by ``--as``, with that user's roles, and is refused the same
things the API and web are; without ``--as`` it acts as the trust operator, named in the log."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from accord import Trust
from accord.agreements.templates import render_template
from tests.agreements.conftest import populate
from tests.api.test_linkage_api import AGREEMENT, LinkedTemplate
from tests.interfaces.cli.commands import accord, actors, refusal

pytestmark = pytest.mark.filterwarnings("ignore:Arrow output on a DB-API result")

FSM = "fsm-camden-islington"


@pytest.fixture
def pop_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    with Trust.init(home, actor="cli-test") as trust:
        populate(trust)
    return home


@pytest.fixture
def fsm_file(tmp_path: Path) -> Path:
    path = tmp_path / "fsm.yaml"
    path.write_text(render_template("fsm", today=date.today()), encoding="utf-8")
    return path


@pytest.fixture
def linked_home(linked_template: LinkedTemplate, tmp_path: Path) -> Path:
    home = tmp_path / "linked"
    shutil.copytree(linked_template.home, home)
    return home


def _pair(home: Path) -> tuple[str, str]:
    with Trust.open(home) as trust:
        item = trust.linkage.review_queue(AGREEMENT)[0]
    return item.record_a, item.record_b


# -- agreements ------------------------------------------------------------------------------


def test_an_analyst_may_not_propose_from_the_command_line(pop_home: Path, fsm_file: Path) -> None:
    result = accord(pop_home, "agreement", "propose", str(fsm_file), "--as", "analyst@camden.test")
    assert "need the ig-lead or admin role; analyst@camden.test has analyst" in refusal(result)
    assert actors(pop_home, "agreement.proposed") == []


def test_an_ig_lead_proposes_as_themselves(pop_home: Path, fsm_file: Path) -> None:
    result = accord(pop_home, "agreement", "propose", str(fsm_file), "--as", "ig@camden.test")
    assert result.exit_code == 0, result.output
    assert f"Proposed {FSM} as version 1." in result.output
    assert actors(pop_home, "agreement.proposed") == ["ig@camden.test"]


def test_without_as_the_operator_proposes_and_is_named_in_the_log(
    pop_home: Path, fsm_file: Path
) -> None:
    assert accord(pop_home, "agreement", "propose", str(fsm_file)).exit_code == 0
    assert actors(pop_home, "agreement.proposed") == ["operator:cli-test"]


def test_an_unknown_user_is_refused(pop_home: Path, fsm_file: Path) -> None:
    result = accord(pop_home, "agreement", "propose", str(fsm_file), "--as", "who@nowhere.test")
    assert "--as who@nowhere.test: there is no such user" in refusal(result)


def test_an_ig_lead_of_another_member_may_not_revoke(pop_home: Path, fsm_file: Path) -> None:
    accord(pop_home, "agreement", "propose", str(fsm_file))
    args = ("agreement", "revoke", FSM, "--reason", "not ours")
    assert "only an ig-lead of a controller" in refusal(
        accord(pop_home, *args, "--as", "ig@hackney.test")
    )
    assert accord(pop_home, *args, "--as", "ig@islington.test").exit_code == 0
    assert actors(pop_home, "agreement.revoked") == ["ig@islington.test"]


# -- linkage ---------------------------------------------------------------------------------


def test_a_member_not_party_to_the_agreement_may_not_review(linked_home: Path) -> None:
    a, b = _pair(linked_home)
    for args in (
        ("link", "review", AGREEMENT),
        ("link", "review", AGREEMENT, "--accept", a, b),
        ("link", "explain", AGREEMENT, a, b),
        ("link", "status", AGREEMENT),
    ):
        reason = refusal(accord(linked_home, *args, "--as", "owner@hackney.test"))
        assert "seen only by its parties (camden, islington)" in reason
    assert actors(linked_home, "linkage.review-decided") == []


def test_an_analyst_may_not_see_the_records_of_a_pair(linked_home: Path) -> None:
    a, b = _pair(linked_home)
    result = accord(linked_home, "link", "explain", AGREEMENT, a, b, "--as", "analyst@camden.test")
    assert "linkage review shows people's identifiers" in refusal(result)
    assert "To run linkage you need the data-owner" in refusal(
        accord(linked_home, "link", "run", AGREEMENT, "--as", "analyst@camden.test")
    )


def test_a_data_owner_reviews_and_sees_both_records(linked_home: Path) -> None:
    a, b = _pair(linked_home)
    listed = accord(linked_home, "link", "review", AGREEMENT, "--as", "owner@camden.test")
    assert listed.exit_code == 0, listed.output
    assert f"Review queue of {AGREEMENT}" in listed.output
    explained = accord(linked_home, "link", "explain", AGREEMENT, a, b, "--as", "owner@camden.test")
    assert explained.exit_code == 0, explained.output
    assert "The two records (fields shared)" in explained.output
    assert "home_postcode:" in explained.output and "sex" not in explained.output
    decided = accord(
        linked_home, "link", "review", AGREEMENT, "--reject", a, b, "--as", "owner@camden.test"
    )
    assert decided.exit_code == 0, decided.output
    assert actors(linked_home, "linkage.review-decided") == ["owner@camden.test"]


def test_only_an_administrator_exports_and_the_operator_is_named(
    linked_home: Path, tmp_path: Path
) -> None:
    out = tmp_path / "keys.parquet"
    args = ("link", "export", AGREEMENT, "--out", str(out))
    reason = refusal(accord(linked_home, *args, "--as", "owner@camden.test"))
    assert "for the trust's administrators only: owner@camden.test has data-owner" in reason
    assert not out.exists() and actors(linked_home, "linkage.exported") == []
    assert accord(linked_home, *args, "--as", "admin@trust.test").exit_code == 0
    assert accord(linked_home, *args).exit_code == 0
    assert actors(linked_home, "linkage.exported") == ["admin@trust.test", "operator:cli-test"]

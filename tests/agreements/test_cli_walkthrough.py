"""The FSM story from `new` to `active` as CLI commands, each step readable by a non-engineer.

docs/agreements.md walks through the same commands.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from accord import Trust
from accord.interfaces.cli.app import app

from .conftest import CONTRACTS

runner = CliRunner()
ID = "fsm-camden-islington"


def words(result: Result) -> str:
    return " ".join(result.output.split())


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def run(home: Path, *args: str) -> Result:
    result = runner.invoke(app, ["--home", str(home), "--actor", "cli-test", *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def test_fsm_agreement_from_new_to_active(home: Path, tmp_path: Path) -> None:
    assert run(home, "init").exit_code == 0
    run(home, "member", "add", "camden", "--title", "London Borough of Camden")
    run(home, "member", "add", "islington", "--title", "London Borough of Islington")
    run(home, "user", "add", "ig@camden.gov.uk", "--member", "camden", "--role", "ig-lead")
    run(home, "user", "add", "ig@islington.gov.uk", "--member", "islington", "--role", "ig-lead")
    run(home, "user", "add", "ana@islington.gov.uk", "--member", "islington", "--role", "analyst")
    for name in ("camden.school_census", "islington.residents"):
        registered = run(home, "dataset", "register", str(CONTRACTS / f"{name}.yaml"))
        assert "Registered" in words(registered)

    file = tmp_path / "fsm.yaml"
    new = run(
        home,
        "agreement",
        "new",
        "--template",
        "fsm",
        "--out",
        str(file),
        "--set",
        "retention_days=300",
    )
    assert "Wrote a new agreement from the 'fsm' template" in words(new)
    assert "retention_days: 300" in file.read_text()
    assert "# Controllers decide why and how the data is used" in file.read_text()

    lint = run(home, "agreement", "lint", str(file))
    assert lint.exit_code == 0
    assert "no problems found. It can be proposed and signed." in words(lint)

    refused = runner.invoke(
        app,
        ["--home", str(home), "agreement", "propose", str(file), "--as", "ana@islington.gov.uk"],
    )
    assert "need the ig-lead or admin role; ana@islington.gov.uk has analyst" in str(
        refused.exception
    )
    proposed = run(home, "agreement", "propose", str(file), "--as", "ig@islington.gov.uk")
    assert f"Proposed {ID} as version 1." in words(proposed)
    assert "Waiting for signatures from: camden, islington." in words(proposed)

    camden = run(home, "agreement", "sign", ID, "--as", "ig@camden.gov.uk")
    assert "ig@camden.gov.uk signed fsm-camden-islington version 1 for camden." in words(camden)
    assert "Still waiting for: islington." in words(camden)

    # Islington signs on its own machine with its own key and uploads only the signature.
    signature = tmp_path / "islington.sig"
    key = home / "keys" / "members" / "islington.pem"
    offline = run(home, "agreement", "sign", str(file), "--key", str(key), "--out", str(signature))
    assert "Signature written to" in words(offline)
    uploaded = run(
        home, "agreement", "sign", ID, "--signature", str(signature), "--as", "ig@islington.gov.uk"
    )
    assert "Every controller has signed. Status: ACTIVE." in words(uploaded)
    assert "From proposal to active:" in words(uploaded)

    show = words(run(home, "agreement", "show", ID))
    assert "Why: Find Islington families whose children are entitled to free school meals" in show
    assert "camden shares camden/school_census (given_name, family_name" in show
    assert "with islington, only rows where home_borough = 'islington'" in show
    assert "Lawful basis: it is part of the controllers' public tasks (Article 6(1)(e))." in show
    assert "Status: ACTIVE" in show
    assert "camden: signed by ig@camden.gov.uk" in show
    assert "after it was first proposed" in show

    listed = words(run(home, "agreement", "list"))
    assert f"{ID} (version 1): ACTIVE" in listed

    history = words(run(home, "agreement", "history", ID))
    assert "Version 1 signed for islington by ig@islington.gov.uk." in history
    assert "Version 1 became active." in history

    odrl = json.loads(run(home, "agreement", "export-odrl", ID).output)
    assert odrl["@type"] == "Agreement"
    assert odrl["dpv:hasPurpose"] == {"@id": "https://w3id.org/dpv#ServiceProvision"}

    with Trust.open(home) as trust:
        decision = trust.agreements.decide(
            "ana@islington.gov.uk", ID, "fsm-support", {"camden/school_census": {"given_name"}}
        )
        assert decision.allowed


def test_lint_explains_errors_and_fails(home: Path, tmp_path: Path) -> None:
    run(home, "init")
    file = tmp_path / "blank.yaml"
    run(home, "agreement", "new", "--template", "blank", "--out", str(file))
    result = run(home, "agreement", "lint", str(file))
    assert result.exit_code == 1
    text = words(result)
    assert "ERROR The agreement does not say what the sharing is for: add purpose.code." in text
    assert "Errors must be fixed before anyone can sign." in text


def test_revoke_from_the_command_line(home: Path, tmp_path: Path) -> None:
    test_fsm_agreement_from_new_to_active(home, tmp_path)
    result = run(
        home, "agreement", "revoke", ID, "--reason", "Term ended", "--as", "ig@camden.gov.uk"
    )
    assert "Revoked fsm-camden-islington. Nobody can query under it any more." in words(result)
    assert "Status: revoked Revoked because: Term ended" in words(
        run(home, "agreement", "show", ID)
    )

"""`accord dataset …` commands: register, ingest, list, show, quarantine."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from accord.interfaces.cli import context
from accord.interfaces.cli.app import app

from .helpers import contract_with

runner = CliRunner()


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tables wrap cells on a narrow terminal; tests read whole phrases.
    monkeypatch.setattr(context.console, "_width", 200)


def run(home: Path, *args: str):
    result = runner.invoke(app, ["--home", str(home), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())  # undo Rich's wrapping


def test_register_ingest_show_and_quarantine(tmp_path: Path) -> None:
    home = tmp_path / "home"
    run(home, "init")
    run(home, "member", "add", "camden", "--title", "London Borough of Camden")
    contract = tmp_path / "pupils.yaml"
    contract.write_text(yaml.safe_dump(contract_with()))
    assert "Registered camden/pupils" in run(home, "dataset", "register", str(contract))

    data = tmp_path / "pupils.csv"
    data.write_text("pupil_id;name;age\nP1;Ann;7\nP2;Bob;seven\n")
    out = run(home, "dataset", "ingest", "camden/pupils", str(data))
    assert "Version 1 of camden/pupils" in out and "1 quarantined" in out
    assert "not a whole number" in out

    assert "camden/pupils" in run(home, "dataset", "list")
    shown = run(home, "dataset", "show", "camden/pupils")
    assert "Primary key: pupil_id" in shown and "personal" in shown and "fresh: yes" in shown

    quarantined = run(home, "dataset", "quarantine", "camden/pupils", "--version", "1")
    assert "not a whole number" in quarantined and "seven" in quarantined

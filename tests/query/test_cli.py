"""`accord query …` from the command line."""

from __future__ import annotations

from pathlib import Path

import pyarrow.csv as pacsv
from typer.testing import CliRunner

from accord import Trust
from accord.interfaces.cli.app import app
from tests.query.test_fsm_story import AGREEMENT, LIST_SQL, _activate_fsm


def test_query_writes_the_release_to_a_csv(sworld: Trust, tmp_path: Path) -> None:
    _activate_fsm(sworld)
    out = tmp_path / "fsm.csv"
    result = CliRunner().invoke(
        app,
        [
            "--home",
            str(sworld.home),
            "query",
            LIST_SQL,
            "--as",
            "ana@islington.gov.uk",
            "--agreement",
            AGREEMENT,
            "--purpose",
            "fsm-support",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert pacsv.read_csv(out).column_names == ["upn", "given_name", "family_name", "address"]


def test_a_refused_query_says_why(sworld: Trust) -> None:
    _activate_fsm(sworld)
    result = CliRunner().invoke(
        app,
        [
            "--home",
            str(sworld.home),
            "query",
            "SELECT ethnicity FROM camden.school_census",
            "--as",
            "ana@islington.gov.uk",
            "--agreement",
            AGREEMENT,
            "--purpose",
            "fsm-support",
        ],
    )
    assert result.exit_code != 0
    assert "not granted" in str(result.exception)

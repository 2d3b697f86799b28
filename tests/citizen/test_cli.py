"""`accord citizen code | report | opt-out` on the command line."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from accord import Trust
from accord.interfaces.cli.app import _mount, app
from tests.citizen.conftest import DOB
from tests.query.conftest import _nhs

pytestmark = pytest.mark.filterwarnings("ignore:Arrow output on a DB-API result")
_mount()
runner = CliRunner()


def _run(trust: Trust, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--home", str(trust.home), "--actor", "ig@camden.gov.uk", *args])
    return result.exit_code, result.output + str(result.exception or "")


def test_report_prints_the_release_that_used_the_record(scensus: Trust) -> None:
    code, out = _run(
        scensus, "citizen", "report", "--nhs-number", _nhs(1), "--date-of-birth", DOB, "--json"
    )
    assert code == 0, out
    report = json.loads(out)
    assert [u["organisation"] for u in report["uses"]] == ["London Borough of Islington"]


def test_report_as_tables_says_who_and_why(scensus: Trust) -> None:
    code, out = _run(scensus, "citizen", "report", "--nhs-number", _nhs(1), "--date-of-birth", DOB)
    assert code == 0, out
    assert "1 answer made from records about you went to 1 organisation." in out
    assert "London Borough of Islington" in out


def test_a_bad_nhs_number_is_explained(scensus: Trust) -> None:
    code, out = _run(
        scensus, "citizen", "report", "--nhs-number", "1234567890", "--date-of-birth", DOB
    )
    assert code != 0
    assert "check digit" in out


def test_code_then_opt_out(scensus: Trust) -> None:
    code, out = _run(scensus, "citizen", "code", "--nhs-number", _nhs(1), "--date-of-birth", DOB)
    assert code == 0 and "One-time code:" in out
    code, out = _run(scensus, "citizen", "opt-out", "--nhs-number", _nhs(1), "--date-of-birth", DOB)
    assert code == 0, out
    assert scensus.queries.optouts.is_opted_out(nhs_number=_nhs(1))


def test_a_code_for_more_than_an_hour_is_refused(scensus: Trust) -> None:
    code, out = _run(
        scensus,
        "citizen",
        "code",
        "--nhs-number",
        _nhs(1),
        "--date-of-birth",
        DOB,
        "--minutes",
        "61",
    )
    assert code != 0
    assert "between 1 and 60 minutes, not 61" in out
    assert "One-time code:" not in out

"""Running the CLI in tests, and reading back who it recorded as acting."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner, Result

from accord import Trust
from accord.core.store.models import EventRow
from accord.errors import PermissionDenied
from accord.interfaces.cli.app import app

runner = CliRunner()


def accord(home: Path, *args: str) -> Result:
    """``accord --home HOME ARGS...`` run by the operator ``cli-test``."""
    return runner.invoke(app, ["--home", str(home), "--actor", "cli-test", *args])


def refusal(result: Result) -> str:
    """The reason of a refused command (the CLI prints it in one place, from the error)."""
    assert isinstance(result.exception, PermissionDenied), result.output
    return result.exception.message


def actors(home: Path, kind: str) -> list[str]:
    """Who acted in each event of ``kind``, oldest first."""
    with Trust.open(home) as trust, trust.store.sessions() as session:
        return list(session.scalars(select(EventRow.actor).where(EventRow.kind == kind)))

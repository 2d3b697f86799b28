"""`accord audit …` as an information-governance lead or an auditor would use it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text
from typer.testing import CliRunner

from accord import Trust
from accord.interfaces.cli.app import app

runner = CliRunner()


def _run(trust: Trust | None, *args: str):  # type: ignore[no-untyped-def]
    home = ["--home", str(trust.home)] if trust is not None else []
    return runner.invoke(
        app, [*home, "audit", *args], catch_exceptions=False, env={"COLUMNS": "300"}
    )


def test_verify_reports_an_intact_log(sqlite_trust: Trust, add: Callable[..., None]) -> None:
    add(sqlite_trust, 3)
    result = _run(sqlite_trust, "verify")
    assert result.exit_code == 0
    assert "intact: 4 entries" in result.output


def test_verify_fails_and_names_the_first_bad_entry(
    sqlite_trust: Trust, add: Callable[..., None]
) -> None:
    add(sqlite_trust, 5)
    with sqlite_trust.store.engine.begin() as connection:
        connection.execute(text("UPDATE events SET payload = '{}' WHERE chain_index = 3"))
    result = _run(sqlite_trust, "verify")
    assert result.exit_code == 1
    assert "The first bad entry is number 3" in result.output
    assert "Entry 3 was altered" in result.output


def test_an_export_is_verified_with_a_separately_kept_key(
    sqlite_trust: Trust, add: Callable[..., None], tmp_path: Path
) -> None:
    add(sqlite_trust, 3)
    folder = tmp_path / "for-auditor"
    assert _run(sqlite_trust, "export", str(folder)).exit_code == 0
    key = sqlite_trust.settings.keys_dir / "trust.pub"
    result = _run(None, "verify", "--export", str(folder), "--public-key", str(key))
    assert result.exit_code == 0, result.output
    assert "intact: 4 entries and 1 signed checkpoints" in result.output


def test_a_kept_checkpoint_catches_a_cut_log(
    sqlite_trust: Trust, add: Callable[..., None], tmp_path: Path
) -> None:
    add(sqlite_trust, 3)
    kept = tmp_path / "kept.json"
    assert _run(sqlite_trust, "checkpoint", "--out", str(kept)).exit_code == 0
    with sqlite_trust.store.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_checkpoints"))
        connection.execute(text("DELETE FROM events WHERE chain_index = 4"))
    assert _run(sqlite_trust, "verify").exit_code == 0
    result = _run(sqlite_trust, "verify", "--from-checkpoint", str(kept))
    assert result.exit_code == 1
    assert "entries 4 to 4 were deleted" in result.output


def test_log_lists_entries_newest_first(sqlite_trust: Trust, add: Callable[..., None]) -> None:
    add(sqlite_trust, 2, member="camden")
    result = _run(sqlite_trust, "log", "--member", "camden", "--limit", "5")
    assert result.exit_code == 0
    assert result.output.count("test.audit-probe") == 2
    assert "trust.initialised" not in result.output


def test_a_printed_proof_checks_with_the_public_key(
    sqlite_trust: Trust, add: Callable[..., None], tmp_path: Path
) -> None:
    add(sqlite_trust, 6)
    result = _run(sqlite_trust, "prove", "4")
    assert result.exit_code == 0
    proof = tmp_path / "proof.json"
    proof.write_text(result.output, encoding="utf-8")
    key = str(sqlite_trust.settings.keys_dir / "trust.pub")
    assert _run(None, "check-proof", str(proof), "--public-key", key).exit_code == 0
    data = json.loads(result.output)
    data["entry"]["kind"] = "something.else"
    proof.write_text(json.dumps(data), encoding="utf-8")
    bad = _run(None, "check-proof", str(proof), "--public-key", key)
    assert bad.exit_code == 1
    assert "do not match its hash" in bad.output


def test_the_accord_command_exits_non_zero_on_a_tampered_log(
    sqlite_trust: Trust, add: Callable[..., None]
) -> None:
    import subprocess
    import sys

    add(sqlite_trust, 2)
    command = [sys.executable, "-m", "accord.interfaces.cli.app", "--home", str(sqlite_trust.home)]
    assert subprocess.run([*command, "audit", "verify"], capture_output=True).returncode == 0
    with sqlite_trust.store.engine.begin() as connection:
        connection.execute(text("DELETE FROM events WHERE chain_index = 2"))
    failed = subprocess.run([*command, "audit", "verify"], capture_output=True, text=True)
    assert failed.returncode == 1
    assert "Entry 2 is missing" in failed.stderr

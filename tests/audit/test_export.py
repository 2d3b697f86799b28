"""An export verifies with the trust's public key alone; tampering with it is named."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from accord import Trust
from accord.audit import verify_export
from accord.audit.export import ENTRIES


@pytest.fixture
def exported(sqlite_trust: Trust, add, tmp_path: Path) -> tuple[Path, Path]:  # type: ignore[no-untyped-def]
    """(export folder, a copy of the public key kept apart), with the trust itself gone."""
    add(sqlite_trust, 11)
    folder = tmp_path / "export"
    sqlite_trust.audit.export(folder)
    key = tmp_path / "published-trust.pub"
    shutil.copy(sqlite_trust.settings.keys_dir / "trust.pub", key)
    sqlite_trust.close()
    shutil.rmtree(sqlite_trust.home)
    return folder, key


def _lines(folder: Path) -> list[str]:
    return (folder / ENTRIES).read_text(encoding="utf-8").splitlines()


def _write(folder: Path, lines: list[str]) -> None:
    (folder / ENTRIES).write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_an_export_verifies_with_the_public_key_alone(exported: tuple[Path, Path]) -> None:
    folder, key = exported
    report = verify_export(folder, public_key=key)
    assert report.ok, report.summary()
    assert (report.entries, report.checkpoints) == (12, 1)


def test_an_export_checked_with_its_own_key_says_so(exported: tuple[Path, Path]) -> None:
    folder, _ = exported
    report = verify_export(folder)
    assert report.ok
    assert any("obtained separately" in n for n in report.notes)


def test_an_export_under_another_key_fails(exported: tuple[Path, Path], tmp_path: Path) -> None:
    from accord.core.crypto.keys import SigningKey

    folder, _ = exported
    other = tmp_path / "other.pub"
    other.write_bytes(SigningKey.generate().public_pem())
    report = verify_export(folder, public_key=other)
    assert not report.ok
    assert "signature that the trust's key did not make" in report.summary()


def test_an_altered_line_is_named(exported: tuple[Path, Path]) -> None:
    folder, key = exported
    lines = _lines(folder)
    entry = json.loads(lines[5])
    entry["actor"] = "someone-else"
    lines[5] = json.dumps(entry)
    _write(folder, lines)
    report = verify_export(folder, public_key=key)
    assert report.first_bad == 6
    assert "Entry 6 was altered" in report.summary()


def test_a_deleted_line_is_named(exported: tuple[Path, Path]) -> None:
    folder, key = exported
    lines = _lines(folder)
    del lines[3]
    _write(folder, lines)
    report = verify_export(folder, public_key=key)
    assert report.first_bad == 4
    assert "Entry 4 is missing" in report.summary()


def test_an_inserted_line_is_named(exported: tuple[Path, Path]) -> None:
    folder, key = exported
    lines = _lines(folder)
    lines.insert(7, lines[2])
    _write(folder, lines)
    report = verify_export(folder, public_key=key)
    assert report.first_bad == 8
    assert "inserted" in report.summary()


def test_swapped_lines_are_named(exported: tuple[Path, Path]) -> None:
    folder, key = exported
    lines = _lines(folder)
    lines[8], lines[9] = lines[9], lines[8]
    _write(folder, lines)
    report = verify_export(folder, public_key=key)
    assert report.first_bad == 9
    assert "out of order" in report.summary()


def test_a_cut_export_is_caught_by_its_checkpoint(exported: tuple[Path, Path]) -> None:
    folder, key = exported
    _write(folder, _lines(folder)[:-2])
    report = verify_export(folder, public_key=key)
    assert report.first_bad == 11
    assert "entries 11 to 12 were deleted" in report.summary()


def test_a_garbled_line_is_named(exported: tuple[Path, Path]) -> None:
    folder, key = exported
    lines = _lines(folder)
    lines[4] = lines[4][:20]
    _write(folder, lines)
    report = verify_export(folder, public_key=key)
    assert report.first_bad == 5
    assert "cannot be read" in report.summary()

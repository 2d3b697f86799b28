"""Versions: replace and upsert, events, and a kill during an ingest that leaves no trace."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import select

from accord.core.store.models import EventRow
from accord.errors import InvalidInput

from .helpers import contract_with


def rows(trust, ref, version=None) -> dict[str, tuple]:
    return {
        r["pupil_id"]: (r["name"], r["age"])
        for r in trust.ingest.read_version(ref, version).to_pylist()
    }


def test_replace_makes_a_version_from_the_file_alone(trust, dataset, write) -> None:
    ref = dataset()
    trust.ingest.ingest(ref, write("pupil_id,name,age\nP1,Ann,1\nP2,Bob,2\n"))
    result = trust.ingest.ingest(ref, write("pupil_id,name,age\nP3,Cat,3\n", name="b.csv"))
    assert (result.version, result.row_count) == (2, 1)
    assert rows(trust, ref) == {"P3": ("Cat", 3)}
    assert rows(trust, ref, 1) == {"P1": ("Ann", 1), "P2": ("Bob", 2)}  # versions are immutable


def test_upsert_replaces_changed_rows_adds_new_ones_and_keeps_the_rest(
    trust, dataset, write
) -> None:
    ref = dataset()
    trust.ingest.ingest(ref, write("pupil_id,name,age\nP1,Ann,1\nP2,Bob,2\nP3,Cat,3\n"))
    change = write("pupil_id,name,age\nP2,Bobby,12\nP4,Dan,4\nP5,Eve,old\n", name="b.csv")
    result = trust.ingest.ingest(ref, change, mode="upsert")
    assert rows(trust, ref) == {
        "P1": ("Ann", 1),
        "P2": ("Bobby", 12),
        "P3": ("Cat", 3),
        "P4": ("Dan", 4),
    }
    assert (result.mode, result.rows_accepted, result.rows_quarantined, result.row_count) == (
        "upsert",
        2,
        1,
        4,
    )


def test_upsert_with_a_composite_key(trust, dataset, write) -> None:
    ref = dataset(
        contract_with({"name": "term", "type": "integer"}, primary_key=["pupil_id", "term"])
    )
    trust.ingest.ingest(ref, write("pupil_id,name,age,term\nP1,Ann,1,1\nP1,Ann,1,2\n"))
    trust.ingest.ingest(
        ref, write("pupil_id,name,age,term\nP1,Ann,9,2\n", name="b.csv"), mode="upsert"
    )
    stored = sorted((r["term"], r["age"]) for r in trust.ingest.read_version(ref).to_pylist())
    assert stored == [(1, 1), (2, 9)]


def test_upsert_without_a_primary_key_is_refused(trust, dataset, write) -> None:
    ref = dataset(contract_with(primary_key=None))
    with pytest.raises(InvalidInput, match="no primaryKey"):
        trust.ingest.ingest(ref, write("pupil_id,name,age\nP1,Ann,1\n"), mode="upsert")
    assert trust.catalogue.versions(ref) == []


def test_an_unknown_mode_is_refused(trust, dataset, write) -> None:
    ref = dataset()
    with pytest.raises(InvalidInput, match="replace or upsert"):
        trust.ingest.ingest(ref, write("pupil_id,name,age\nP1,Ann,1\n"), mode="merge")


def test_a_version_and_its_events_are_recorded_together(trust, dataset, write) -> None:
    ref = dataset()
    trust.ingest.ingest(ref, write("pupil_id,name,age\nP1,Ann,1\nP2,Bob,x\n"))
    with trust.store.sessions() as session:
        events = list(session.scalars(select(EventRow).order_by(EventRow.seq)))
    created, quarantined = events[-2:]
    assert (created.kind, quarantined.kind) == (
        "dataset.version-created",
        "dataset.rows-quarantined",
    )
    assert json.loads(created.payload)["rows_quarantined"] == 1
    assert json.loads(quarantined.payload)["reasons"] == {"age: not a whole number": 1}
    version = trust.catalogue.latest_version(ref)
    assert version is not None and version.sha256 == json.loads(created.payload)["sha256"]


def test_show_reports_freshness_and_quarantine_count(trust, dataset, write) -> None:
    ref = dataset()
    assert trust.catalogue.get_dataset(ref).fresh is False  # never ingested
    trust.ingest.ingest(ref, write("pupil_id,name,age\nP1,Ann,1\nP2,Bob,x\n"))
    shown = trust.catalogue.get_dataset(ref)
    assert shown.fresh is True
    assert shown.latest is not None and shown.latest.rows_quarantined == 1


def test_quarantine_of_an_earlier_version(trust, dataset, write) -> None:
    ref = dataset()
    trust.ingest.ingest(ref, write("pupil_id,name,age\nP1,Ann,x\nP2,Bob,2\n"))
    trust.ingest.ingest(ref, write("pupil_id,name,age\nP1,Ann,1\n", name="b.csv"))
    assert trust.ingest.quarantine(ref, actor=trust.operator).num_rows == 0
    assert trust.ingest.quarantine(ref, 1, actor=trust.operator).to_pylist()[0]["age"] == "x"


def test_version_files_are_read_only(trust, dataset, write) -> None:
    ref = dataset()
    trust.ingest.ingest(ref, write("pupil_id,name,age\nP1,Ann,1\n"))
    assert not os.access(trust.ingest.version_path(ref), os.W_OK) or os.geteuid() == 0
    assert oct(trust.ingest.version_path(ref).stat().st_mode & 0o777) == "0o400"


KILL_SCRIPT = """
import sys
from accord import Trust
trust = Trust.open(sys.argv[1], database_url=sys.argv[2], database_schema=sys.argv[3] or None)
trust.ingest.ingest("camden/pupils", sys.argv[4])
"""


def test_a_killed_ingest_leaves_the_previous_version_intact(trust, dataset, write) -> None:
    ref = dataset()
    trust.ingest.ingest(ref, write("pupil_id,name,age\nP1,Ann,1\n"))
    newer = write("pupil_id,name,age\nP9,Zed,9\n", name="newer.csv")
    env = {**os.environ, "ACCORD_TEST_PAUSE_BEFORE_COMMIT": "60"}
    settings = trust.settings
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            KILL_SCRIPT,
            str(trust.home),
            settings.database_url,
            settings.database_schema or "",
            str(newer),
        ],
        env=env,
    )
    folder = settings.data_dir / "camden" / "pupils"
    try:
        deadline = time.monotonic() + 60
        while not (folder / "v0002").exists():  # files in place, commit not yet made
            assert process.poll() is None, "the ingest ended before it could be killed"
            assert time.monotonic() < deadline, "the ingest never reached its commit"
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()

    assert [v.number for v in trust.catalogue.versions(ref)] == [1]
    assert rows(trust, ref) == {"P1": ("Ann", 1)}
    result = trust.ingest.ingest(ref, newer)
    assert result.version == 2
    assert rows(trust, ref) == {"P9": ("Zed", 9)}
    leftovers = [p.name for p in folder.iterdir() if p.name.startswith(".tmp-")]
    assert leftovers == []


def test_a_failure_before_publishing_leaves_no_trace(trust, dataset, write, monkeypatch) -> None:
    ref = dataset()
    trust.ingest.ingest(ref, write("pupil_id,name,age\nP1,Ann,1\n"))
    folder = trust.settings.data_dir / "camden" / "pupils"
    from accord.ingest import service

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(service, "publish", broken)
    with pytest.raises(OSError):
        trust.ingest.ingest(ref, write("pupil_id,name,age\nP2,Bob,2\n", name="b.csv"))
    assert [v.number for v in trust.catalogue.versions(ref)] == [1]
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".lock")) == ["v0001"]

"""The release index: releases made one by one between reports stay few files, and all found."""

from __future__ import annotations

import json

import pytest

from accord import Trust
from accord.query.release_index import MERGE_FAN_IN
from tests.citizen.conftest import LIST_SQL, pupil
from tests.query.conftest import ANA, make_grant

pytestmark = pytest.mark.filterwarnings("ignore:Arrow output on a DB-API result")


def test_releases_indexed_one_by_one_are_merged_and_all_found(scensus: Trust) -> None:
    view = scensus.citizen
    view.lookups_per_window = 1000
    made = [scensus.queries.releases()[0]["id"]]
    for _ in range(2 * MERGE_FAN_IN + 1):
        made.append(scensus.queries.run(ANA, make_grant(), LIST_SQL).id)
        view.report(pupil(1), client="test")  # indexes the new release
    report = view.report(pupil(1), client="test")
    assert {u.release_id for u in report.uses} == set(made)
    manifest = json.loads((view.index_dir / "segments.json").read_text())
    assert len(manifest) < MERGE_FAN_IN * 2
    assert sorted(r for s in manifest for r, _, _ in s["releases"]) == sorted(made)
    assert len(list(view.index_dir.glob("seg-*.npy"))) == len(manifest)


def test_a_pupil_not_released_is_in_no_indexed_release(scensus: Trust) -> None:
    assert scensus.citizen.report(pupil(0), client="test").uses == []

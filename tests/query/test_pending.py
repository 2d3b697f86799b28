"""Answers that leave before their contributors are written: nobody is ever told less.

An aggregate over one dataset and a record-level answer record, with the release, everything
that fixes their contributors; the contributors are written just after. These tests stop that
second step (as if the process had stopped) and check that the next reader completes it, with
exactly the contributors the answer had.
"""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from accord import Trust
from accord.errors import AccordError
from tests.query.conftest import ANA, CENSUS, make_grant

C = "camden.school_census"
COUNTS = f"SELECT age_band, count(*) AS n FROM {C} GROUP BY 1"


@pytest.fixture
def stopped(sworld: Trust, monkeypatch: pytest.MonkeyPatch) -> Trust:
    """A trust whose background listing never runs (the process stops as the answer leaves)."""
    monkeypatch.setattr(type(sworld.queries.pending), "start", lambda self, release_id: None)
    return sworld


def _islington(trust: Trust, **where: object) -> list[str]:
    rows = trust.ingest.read_version(CENSUS).to_pylist()
    return sorted(
        r["upn"]
        for r in rows
        if r["home_borough"] == "islington" and all(r[k] == v for k, v in where.items())
    )


def test_an_aggregate_records_what_fixes_its_contributors_and_lists_them_when_asked(
    stopped: Trust,
) -> None:
    release = stopped.queries.run(ANA, make_grant(), COUNTS)
    assert release.people == 100
    assert stopped.queries.pending.ids() == [release.id]
    assert not release.contributors_path.exists()  # type: ignore[union-attr]
    kept = stopped.queries.contributors(release.id)
    assert stopped.queries.pending.ids() == []
    assert sorted(kept.column("record_key").to_pylist()) == _islington(stopped)
    bands = release.table.column("age_band").to_pylist()
    rows = stopped.ingest.read_version(CENSUS).to_pylist()
    band_of = {r["upn"]: r["age_band"] for r in rows}
    cells, keys = kept.column("cell").to_pylist(), kept.column("record_key").to_pylist()
    for cell, key in zip(cells, keys, strict=True):
        assert bands[cell] == band_of[key]  # each record in the cell it was counted in


def test_a_release_cut_short_is_listed_by_the_next_process_on_a_citizen_look_up(
    stopped: Trust,
) -> None:
    counts = stopped.queries.run(ANA, make_grant(), COUNTS)
    names = stopped.queries.run(ANA, make_grant(), f"SELECT upn FROM {C} WHERE fsm")
    assert set(stopped.queries.pending.ids()) == {counts.id, names.id}
    reopened = Trust.open(stopped.home, actor="tester@accord.test")
    try:
        pupil = _islington(reopened, fsm=True)[0]
        other = _islington(reopened, fsm=False)[0]
        found = reopened.queries.releases_of_records([(CENSUS, pupil)])
        assert found == {counts.id: {CENSUS}, names.id: {CENSUS}}
        assert reopened.queries.releases_of_records([(CENSUS, other)]) == {counts.id: {CENSUS}}
        assert reopened.queries.pending.ids() == []
        kept = pq.read_table(names.contributors_path)  # type: ignore[arg-type]
        assert sorted(kept.column("record_key").to_pylist()) == _islington(reopened, fsm=True)
    finally:
        reopened.close()


def test_the_differencing_check_lists_earlier_pending_answers_first(stopped: Trust) -> None:
    # 50 FSM pupils, then the same count without the pupils aged 16: if they are fewer than 10,
    # the second count singles them out, whether or not the first one's contributors were
    # written yet.
    first = stopped.queries.run(ANA, make_grant(), f"SELECT count(*) AS n FROM {C} WHERE fsm")
    assert stopped.queries.pending.ids() == [first.id]
    rows = stopped.ingest.read_version(CENSUS).to_pylist()
    sixteen = sum(r["home_borough"] == "islington" and r["fsm"] and r["age"] == 16 for r in rows)
    assert 0 < sixteen < 10
    second = stopped.queries.run(
        ANA, make_grant(), f"SELECT count(*) AS n FROM {C} WHERE fsm AND age < 16"
    )
    assert second.table.column("n").to_pylist() == [None]
    assert first.id in second.changes[0].reason
    assert first.id not in stopped.queries.pending.ids()  # listed for the check


def test_the_same_question_again_needs_no_listing_and_is_never_suppressed(stopped: Trust) -> None:
    answers = [stopped.queries.run(ANA, make_grant(), COUNTS) for _ in range(3)]
    assert stopped.queries.pending.ids() == sorted(a.id for a in answers)
    assert all(a.table.equals(answers[0].table) for a in answers)
    assert not [c for a in answers for c in a.changes if "release" in c.reason]


def test_a_listing_that_does_not_match_the_answer_writes_nothing(stopped: Trust) -> None:
    release = stopped.queries.run(ANA, make_grant(), COUNTS)
    marker = stopped.queries.pending.path(release.id)
    spec = json.loads(marker.read_text())
    spec["counts"] = [c + 1 for c in spec["counts"]]  # as if the data had changed under it
    marker.write_text(json.dumps(spec))
    with pytest.raises(AccordError, match="cannot be listed"):
        stopped.queries.contributors(release.id)
    assert marker.exists()
    assert not release.contributors_path.exists()  # type: ignore[union-attr]


def test_a_question_that_could_answer_differently_is_listed_at_once(stopped: Trust) -> None:
    release = stopped.queries.run(
        ANA,
        make_grant(),
        f"SELECT age_band, count(*) AS n FROM {C} WHERE upn IN "
        f"(SELECT upn FROM {C} WHERE fsm) GROUP BY 1",
    )
    assert release.id not in stopped.queries.pending.ids()
    assert release.contributors_path.exists()  # type: ignore[union-attr]


def test_the_next_process_lists_what_was_left_pending_as_soon_as_it_opens(
    sworld: Trust, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(type(sworld.queries.pending), "start", lambda self, release_id: None)
    release = sworld.queries.run(ANA, make_grant(), COUNTS)
    monkeypatch.undo()
    reopened = Trust.open(sworld.home, actor="tester@accord.test")
    try:
        reopened.queries.pending.settle()  # listed in the background since it opened
        assert reopened.queries.pending.ids() == []
        kept = pq.read_table(release.contributors_path)  # type: ignore[arg-type]
        assert sorted(kept.column("record_key").to_pylist()) == _islington(reopened)
    finally:
        reopened.close()

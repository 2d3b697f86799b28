"""The linkage service: runs, stable keys, review, explanation, export and incremental matching."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from accord import Trust
from accord.errors import PermissionDenied
from accord.linkage.events import LinkExported
from tests.linkage.conftest import FAST, Boroughs
from tests.linkage.people import RESIDENTS_CONTRACT, SCHOOL_CONTRACT

pytestmark = pytest.mark.filterwarnings("ignore:Arrow output on a DB-API result")

AGREEMENT = "fsm-camden-islington"
REFS = ["camden/pupils", "islington/residents"]


def _load(trust: Trust, boroughs: Boroughs, tmp_path) -> None:
    trust.catalogue.add_member("camden", "London Borough of Camden")
    trust.catalogue.add_member("islington", "London Borough of Islington")
    for contract, table, ref in (
        (SCHOOL_CONTRACT, boroughs.school, REFS[0]),
        (RESIDENTS_CONTRACT, boroughs.residents, REFS[1]),
    ):
        trust.catalogue.register_dataset(contract)
        trust.ingest.ingest(ref, table)


def _keys(trust: Trust) -> dict[tuple[str, str], str]:
    table = pq.read_table(trust.linkage.keys_path(AGREEMENT))
    return dict(
        zip(
            zip(
                table.column("dataset").to_pylist(),
                table.column("record_key").to_pylist(),
                strict=True,
            ),
            table.column("person_key").to_pylist(),
            strict=True,
        )
    )


@pytest.fixture(scope="module")
def linked_home(tmp_path_factory: pytest.TempPathFactory, boroughs: Boroughs) -> Path:
    """A linked trust (SQLite), made once: each test gets its own copy of the home folder."""
    home = tmp_path_factory.mktemp("linked") / "home"
    trust = Trust.init(home, actor="tester@accord.test")
    _load(trust, boroughs, None)
    trust.linkage.run(AGREEMENT, datasets=REFS, config=FAST)
    trust.close()
    return home


@pytest.fixture
def linked(linked_home: Path, tmp_path: Path) -> Iterator[Trust]:
    home = tmp_path / "home"
    shutil.copytree(linked_home, home)
    trust = Trust.open(home, actor="tester@accord.test")
    yield trust
    trust.close()


def test_a_run_writes_person_keys_for_the_query_engine(linked: Trust, boroughs: Boroughs) -> None:
    table = pq.read_table(linked.linkage.keys_path(AGREEMENT))
    assert table.column_names == ["dataset", "record_key", "person_key", "match_probability"]
    assert table.num_rows == boroughs.school.num_rows + boroughs.residents.num_rows
    assert all(k.startswith("P") and len(k) == 13 for k in table.column("person_key").to_pylist())


def test_keys_are_stable_across_a_rerun_with_one_new_record(
    trust: Trust, boroughs: Boroughs, tmp_path
) -> None:
    # On both metadata backends (SQLite and PostgreSQL): keys are issued and kept in the store.
    _load(trust, boroughs, tmp_path)
    trust.linkage.run(AGREEMENT, datasets=REFS, config=FAST)
    linked = trust
    before = _keys(linked)
    extra = pa.Table.from_pylist(
        [
            {
                "pupil_id": "NEW0001",
                "given_name": "Zebedee",
                "family_name": "Quill",
                "date_of_birth": "01/01/2015",
                "sex": "M",
                "home_postcode": "N1 1AA",
                "home_address": "1 New Road",
            }
        ],
        schema=boroughs.school.schema,
    )
    linked.ingest.ingest(REFS[0], extra, mode="upsert")
    run = linked.linkage.run(AGREEMENT, datasets=REFS, config=FAST)
    after = _keys(linked)
    assert all(after[record] == key for record, key in before.items())
    assert after[(REFS[0], "NEW0001")] not in set(before.values())
    assert run.keys_created == 1 and run.keys_retired == 0


def test_a_reviewers_rejection_splits_a_linked_pair(linked: Trust) -> None:
    keys = _keys(linked)
    by_key: dict[str, list[tuple[str, str]]] = {}
    for record, key in keys.items():
        by_key.setdefault(key, []).append(record)
    a, b = next(members for members in by_key.values() if len(members) == 2)
    linked.linkage.decide(AGREEMENT, f"{a[0]}:{a[1]}", f"{b[0]}:{b[1]}", accept=False)
    after = _keys(linked)
    assert after[a] != after[b]
    assert linked.linkage.review_queue(AGREEMENT, include_decided=True)[0].status in {
        "rejected",
        "open",
    }


def test_a_reviewers_acceptance_joins_two_people(linked: Trust) -> None:
    keys = _keys(linked)
    alone = [r for r, k in keys.items() if list(keys.values()).count(k) == 1]
    a = next(r for r in alone if r[0] == REFS[0])
    b = next(r for r in alone if r[0] == REFS[1])
    linked.linkage.decide(AGREEMENT, f"{a[0]}:{a[1]}", f"{b[0]}:{b[1]}", accept=True)
    after = _keys(linked)
    assert after[a] == after[b]


def test_every_pair_can_be_explained_comparison_by_comparison(linked: Trust) -> None:
    keys = _keys(linked)
    by_key: dict[str, list[tuple[str, str]]] = {}
    for record, key in keys.items():
        by_key.setdefault(key, []).append(record)
    a, b = next(members for members in by_key.values() if len(members) == 2)
    found = linked.linkage.explain(AGREEMENT, f"{a[0]}:{a[1]}", f"{b[0]}:{b[1]}")
    names = [row.comparison for row in found.rows]
    assert names[0] == "Prior" and "given_name" in names and "location" in names
    assert found.match_probability >= linked.linkage.status(AGREEMENT).run.link_threshold - 1e-6
    assert abs(sum(row.weight for row in found.rows) - found.match_weight) < 0.01


def test_one_pair_is_looked_up_with_its_review_item_in_either_order(linked: Trust) -> None:
    queued = linked.linkage.review_queue(AGREEMENT)
    item = queued[len(queued) // 2]
    pair = linked.linkage.review_pair(AGREEMENT, item.record_b, item.record_a)
    assert pair.item == item and pair.item.status == "open"
    explained = linked.linkage.explain(AGREEMENT, item.record_a, item.record_b)
    assert pair.explanation.match_weight == pytest.approx(explained.match_weight)
    assert [r.record for r in pair.explanation.records] == [item.record_b, item.record_a]

    linked.linkage.decide(AGREEMENT, item.record_a, item.record_b, accept=False)
    decided = linked.linkage.review_pair(AGREEMENT, item.record_a, item.record_b).item
    assert decided is not None and decided.id == item.id
    assert (decided.status, decided.reviewer) == ("rejected", "operator:tester@accord.test")


def test_a_pair_never_queued_is_explained_without_a_review_item(linked: Trust) -> None:
    queued = {
        frozenset((i.record_a, i.record_b))
        for i in linked.linkage.review_queue(AGREEMENT, include_decided=True)
    }
    keys = _keys(linked)
    a = next(f"{d}:{k}" for d, k in keys if d == REFS[0])
    b = next(
        f"{d}:{k}" for d, k in keys if d == REFS[1] and frozenset((a, f"{d}:{k}")) not in queued
    )
    pair = linked.linkage.review_pair(AGREEMENT, a, b)
    assert pair.item is None
    assert pair.explanation.rows[0].comparison == "Prior"


def test_status_reports_model_thresholds_and_counts(linked: Trust) -> None:
    status = linked.linkage.status(AGREEMENT)
    assert status.model_version == 1 and status.run is not None
    # The threshold is chosen from the model (expected precision), within its bounds.
    assert 0.5 <= status.run.link_threshold <= 0.99
    assert status.person_keys == status.run.clusters


def test_export_is_for_administrators_and_is_logged(linked: Trust, tmp_path) -> None:
    linked.catalogue.add_user("ana@camden.gov.uk", "camden", ["analyst"])
    linked.catalogue.add_user("root@camden.gov.uk", "camden", ["admin"])
    with pytest.raises(PermissionDenied):
        linked.linkage.export(
            AGREEMENT, tmp_path / "x.parquet", actor=linked.catalogue.get_user("ana@camden.gov.uk")
        )
    rows = linked.linkage.export(
        AGREEMENT, tmp_path / "keys.parquet", actor=linked.catalogue.get_user("root@camden.gov.uk")
    )
    table = pq.read_table(tmp_path / "keys.parquet")
    assert table.num_rows == rows and table.column_names[:2] == ["member", "dataset"]
    from sqlalchemy import select

    from accord.core.store.models import EventRow

    with linked.store.sessions() as session:
        kinds = list(session.scalars(select(EventRow.kind)))
    assert LinkExported.kind in kinds


def test_incremental_matching_agrees_with_a_full_rerun(linked: Trust, boroughs: Boroughs) -> None:
    # Hold back some residents, link the rest, then let them arrive one by one.
    keys_full = _keys(linked)
    held = boroughs.residents.slice(0, 25)
    rest = boroughs.residents.slice(25)
    linked.ingest.ingest(REFS[1], rest)
    linked.linkage.run(AGREEMENT, datasets=REFS, config=FAST)
    matches = linked.linkage.match_records(AGREEMENT, REFS[1], held)
    after = _keys(linked)
    agree = 0
    for match in matches:
        record = (REFS[1], match.record_key)
        partners_full = {r for r, k in keys_full.items() if k == keys_full[record] and r != record}
        partners_now = {r for r, k in after.items() if k == after[record] and r != record}
        agree += partners_full == partners_now
    assert agree >= len(matches) - 1  # the same people found, bar at most one borderline pair


def test_person_keys_can_be_found_from_a_citizens_identifiers(
    linked: Trust, boroughs: Boroughs
) -> None:
    row = boroughs.school.to_pylist()[0]
    d, m, y = row["date_of_birth"].split("/") if row["date_of_birth"] else ("01", "01", "2000")
    found = linked.linkage.person_keys_for(
        {
            "given_name": row["given_name"],
            "family_name": row["family_name"],
            "date_of_birth": f"{y}-{m}-{d}",
            "postcode": row["home_postcode"],
        },
        AGREEMENT,
    )
    assert _keys(linked)[(REFS[0], row["pupil_id"])] in found


def test_household_evidence_of_the_run_is_a_line_of_its_explanation(linked: Trust) -> None:
    queued = linked.linkage.review_queue(AGREEMENT)
    explained = [linked.linkage.explain(AGREEMENT, i.record_a, i.record_b) for i in queued]
    lines = [
        row
        for found in explained
        for row in found.rows
        if row.comparison.startswith("household at address (")
    ]
    assert lines, "no queued pair at two places carried household evidence"
    for found in explained:
        assert abs(sum(row.weight for row in found.rows) - found.match_weight) < 0.01
    # The explanation ends at the probability the run gave the pair, the one the queue shows.
    for item, found in zip(queued, explained, strict=True):
        assert found.match_probability == pytest.approx(item.match_probability, abs=1e-3)


def test_the_review_queue_is_read_a_slice_at_a_time(linked: Trust) -> None:
    whole = linked.linkage.review_queue(AGREEMENT, include_decided=True)
    assert len(whole) > 3
    assert linked.linkage.review_total(AGREEMENT, include_decided=True) == len(whole)
    assert linked.linkage.review_total(AGREEMENT) == len(linked.linkage.review_queue(AGREEMENT))
    part = linked.linkage.review_queue(AGREEMENT, include_decided=True, offset=1, limit=2)
    assert [(i.record_a, i.record_b) for i in part] == [
        (i.record_a, i.record_b) for i in whole[1:3]
    ]

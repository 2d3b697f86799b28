"""The data behind the linkage review page: the pair's two records, and the weights histogram."""

from __future__ import annotations

import math

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from accord import Trust
from accord.interfaces.api import create_app
from accord.linkage.explain import read_record
from accord.linkage.records import parse_record
from accord.linkage.scope import Share
from accord.linkage.weights import match_weight
from tests.api.conftest import bearer
from tests.api.test_linkage_api import AGREEMENT, BASE, PUPILS, RESIDENTS, LinkedTemplate

pytestmark = pytest.mark.filterwarnings("ignore:Arrow output on a DB-API result")

SHARED = {
    PUPILS: {"pupil_id", "given_name", "family_name", "date_of_birth", "home_postcode"}
    | {"home_address"},
    RESIDENTS: {"resident_id", "given_name", "family_name", "date_of_birth", "postcode"}
    | {"address"},
}


def _raw(trust: Trust, record: str) -> dict:
    """The record as ingested, read independently of the service."""
    ref, key = parse_record(record)
    table = trust.ingest.read_version(ref)
    column = "pupil_id" if ref == PUPILS else "resident_id"
    (row,) = [r for r in table.to_pylist() if str(r[column]) == key]
    return row


def test_explain_returns_both_records_with_only_the_shared_fields(linked: Trust) -> None:
    owner = linked.catalogue.get_user("owner@camden.test")
    item = linked.linkage.review_queue(AGREEMENT, actor=owner)[0]
    found = linked.linkage.explain(AGREEMENT, item.record_a, item.record_b, actor=owner)
    assert [r.record for r in found.records] == [item.record_a, item.record_b]
    for record in found.records:
        ref, _ = parse_record(record.record)
        assert record.found
        assert {f.name for f in record.fields} == SHARED[ref]  # never the pupil's sex
        raw = _raw(linked, record.record)
        for f in record.fields:
            expected = raw[f.name]
            assert f.value == (None if expected is None else str(expected))
    lines = {line.label: line for line in found.side_by_side()}
    assert [f.name for f in lines["postcode"].left + lines["postcode"].right] == [
        "home_postcode",
        "postcode",
    ]


def test_a_record_outside_the_row_scope_is_not_read(linked: Trust) -> None:
    record = linked.linkage.review_queue(AGREEMENT)[0].record_a
    ref, key = parse_record(record)
    contract = linked.catalogue.contract(ref)
    path = linked.ingest.version_path(ref)
    given = _raw(linked, record)["given_name"]
    in_scope = Share(("given_name",), f"given_name = '{given}'")
    out_of_scope = Share(("given_name",), "given_name = 'Nobody'")
    inside = read_record(ref, contract, path, in_scope, key)
    outside = read_record(ref, contract, path, out_of_scope, key)
    assert inside.found and [f.value for f in inside.fields] == [key, given]
    assert not outside.found and outside.fields == []


def test_the_api_gives_a_reviewer_the_records_but_never_an_analyst(
    linked_template: LinkedTemplate, linked: Trust
) -> None:
    people = linked_template.people
    item = linked.linkage.review_queue(AGREEMENT)[0]
    params = {"a": item.record_a, "b": item.record_b}
    with TestClient(create_app(linked, web=False)) as client:
        shown = client.get(f"{BASE}/explain", headers=bearer(people.islington_owner), params=params)
        refused = client.get(
            f"{BASE}/explain", headers=bearer(people.islington_analyst), params=params
        )
    assert shown.status_code == 200, shown.text
    records = shown.json()["records"]
    assert [r["record"] for r in records] == [item.record_a, item.record_b]
    assert {f["name"] for f in records[1]["fields"]} == SHARED[RESIDENTS]
    assert refused.status_code == 403 and "identifiers" in refused.json()["detail"]
    assert "records" not in refused.json()


def _independent_bins(weights: list[float], lo: float, hi: float, bins: int) -> list[int]:
    """Equal-width bins closed on the right, as DuckDB's histogram counts them."""
    width = (hi - lo) / bins
    counts = [0] * bins
    for w in weights:
        counts[min(bins - 1, max(0, math.ceil((w - lo) / width) - 1))] += 1
    return counts


def test_the_weights_histogram_counts_every_scored_pair(linked: Trust) -> None:
    analyst = linked.catalogue.get_user("analyst@camden.test")
    found = linked.linkage.weights(AGREEMENT, bins=12, actor=analyst)
    run = linked.linkage.status(AGREEMENT).run
    stored = pq.read_table(
        linked.linkage.folder(AGREEMENT) / f"run-{run.number:04d}" / "pairs.parquet"
    )
    weights = stored.column("match_weight").to_pylist()
    probabilities = stored.column("match_probability").to_pylist()
    assert found is not None and found.run == run.number
    assert found.pairs == len(weights) == run.pairs and sum(found.counts) == found.pairs
    assert len(found.counts) == 12
    assert found.lo <= min(weights) and found.hi >= max(weights)
    assert found.lo <= found.floor_weight <= found.threshold_weight <= found.hi
    assert found.counts == _independent_bins(weights, found.lo, found.hi, 12)
    assert found.linked == sum(p >= run.link_threshold for p in probabilities)
    assert found.to_review == sum(run.review_floor <= p < run.link_threshold for p in probabilities)
    assert found.threshold_weight == pytest.approx(match_weight(run.link_threshold))


def test_the_weights_of_an_agreement_not_linked_yet_are_none(sqlite_trust: Trust) -> None:
    from tests.api.test_linkage_api import build_linkage_world

    build_linkage_world(sqlite_trust, households=10)
    assert sqlite_trust.linkage.weights(AGREEMENT) is None

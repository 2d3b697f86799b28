"""Absence is evidence: a candidate at another address, read against the record's household."""

from __future__ import annotations

import math

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from accord.linkage import link
from accord.linkage.absence import ABSENT, PRESENT, Direction, apply, evidence
from tests.linkage.conftest import FAST, Boroughs

pytestmark = pytest.mark.filterwarnings("ignore:Arrow output on a DB-API result")

PUPILS, REGISTER = "camden/pupils", "islington/residents"


def _row(source: str, uid: str, family: str, postcode: str, address: str) -> dict[str, str]:
    return {
        "source_dataset": source,
        "unique_id": uid,
        "family_name": family,
        "postcode": postcode,
        "postcode_sector": postcode[:-2],
        "address": address,
    }


def _pair(left: str, right: str, p: float) -> dict[str, object]:
    return {
        "source_dataset_l": PUPILS,
        "unique_id_l": left,
        "source_dataset_r": REGISTER,
        "unique_id_r": right,
        "match_weight": math.log2(p / (1 - p)),
        "match_probability": p,
    }


def _world(moved_links: int = 30) -> tuple[list[pa.Table], list[dict[str, object]]]:
    """80 pupils on the register at home (their family there); ``moved_links`` pupils linked
    with certainty to a register record at a new address, their old address now someone
    else's; and the pairs to judge."""
    pupils, register, pairs = [], [], []
    for i in range(80):
        pupils.append(_row(PUPILS, f"h{i}", f"HOME{i}", f"N1 {i}AA", f"{i} HOME ROAD"))
        register.append(_row(REGISTER, f"rh{i}", f"HOME{i}", f"N1 {i}AA", f"{i} HOME ROAD"))
        pairs.append(_pair(f"h{i}", f"rh{i}", 0.9999))
    for i in range(moved_links):
        pupils.append(_row(PUPILS, f"m{i}", f"MOVED{i}", f"N7 {i}BB", f"{i} OLD STREET"))
        register.append(_row(REGISTER, f"new{i}", f"OTHER{i}", f"N7 {i}BB", f"{i} OLD STREET"))
        register.append(_row(REGISTER, f"rm{i}", f"MOVED{i}", f"N19 {i}CC", f"{i} NEW SQUARE"))
        pairs.append(_pair(f"m{i}", f"rm{i}", 0.999))
    # A child whose whole family left its old address (now someone else's), with a name-only
    # candidate at another address; and a child whose family is still at home, with a
    # namesake elsewhere.
    pupils.append(_row(PUPILS, "gone", "MARSH", "N4 1DD", "1 GONE STREET"))
    register.append(_row(REGISTER, "newcomer", "TENANT", "N4 1DD", "1 GONE STREET"))
    register.append(_row(REGISTER, "marsh", "MARSH", "N16 2EE", "2 FAR ROAD"))
    pairs.append(_pair("gone", "marsh", 0.4))
    pupils.append(_row(PUPILS, "stay", "HASSAN", "N5 1FF", "1 STAY STREET"))
    register.append(_row(REGISTER, "mum", "HASSAN", "N5 1FF", "1 STAY STREET"))
    register.append(_row(REGISTER, "namesake", "HASSAN", "N8 3GG", "3 OTHER ROAD"))
    pairs.append(_pair("stay", "namesake", 0.4))
    # Where the evidence does not apply: a candidate at the pupil's own address, and a pupil
    # whose postcode the register does not cover at all.
    pairs.append(_pair("stay", "mum", 0.4))
    pupils.append(_row(PUPILS, "away", "SMITH", "NW1 9ZZ", "9 CAMDEN ROAD"))
    register.append(_row(REGISTER, "smith", "SMITH", "N1 5HH", "5 ANY ROAD"))
    pairs.append(_pair("away", "smith", 0.4))
    return [pa.Table.from_pylist(pupils), pa.Table.from_pylist(register)], pairs


def _probabilities(table: pa.Table) -> dict[tuple[str, str], float]:
    return dict(
        zip(
            zip(table["unique_id_l"].to_pylist(), table["unique_id_r"].to_pylist(), strict=True),
            table["match_probability"].to_pylist(),
            strict=True,
        )
    )


def test_absent_family_supports_a_moved_child_and_a_present_one_counts_against() -> None:
    tables, pairs = _world()
    before = pa.Table.from_pylist(pairs)
    after, weights = apply(before, tables)
    p = _probabilities(after)
    measured = weights[f"{PUPILS} in {REGISTER}"]
    assert measured[ABSENT] > 1 and measured[PRESENT] < -1
    assert p[("gone", "marsh")] > 0.6  # was 0.4: the family left its old address
    assert p[("stay", "namesake")] < 0.2  # was 0.4: the family is still at home


def test_pairs_where_the_evidence_does_not_apply_are_unchanged() -> None:
    tables, pairs = _world()
    before = pa.Table.from_pylist(pairs)
    after, _ = apply(before, tables)
    p = _probabilities(after)
    assert p[("stay", "mum")] == 0.4  # one place: the candidate is the household's record
    assert p[("away", "smith")] == 0.4  # the register does not cover the pupil's postcode
    assert p[("h3", "rh3")] == 0.9999  # at home
    assert after.num_rows == before.num_rows


@pytest.mark.parametrize("order", ["as scored", "reversed"])
def test_pairs_scored_again_as_a_moved_household_are_left_alone(order: str) -> None:
    tables, pairs = _world()
    before = pa.Table.from_pylist(pairs)
    rescored = before.set_column(
        5,
        "match_probability",
        pc.if_else(pc.equal(before["unique_id_l"], "gone"), 0.7, before["match_probability"]),
    ).set_column(
        4,
        "match_weight",
        pc.if_else(pc.equal(before["unique_id_l"], "gone"), 1.2224, before["match_weight"]),
    )
    if order == "reversed":  # found by their ids, not only by position
        before = before.take(list(reversed(range(before.num_rows))))
    after, _ = apply(rescored, tables, unchanged_from=before)
    assert _probabilities(after)[("gone", "marsh")] == 0.7
    assert _probabilities(after)[("stay", "namesake")] < 0.2  # the others get the evidence


def test_without_sure_links_between_places_the_weights_stay_small() -> None:
    tables, pairs = _world(moved_links=0)
    _, weights = apply(pa.Table.from_pylist(pairs), tables)
    # u alone measured: m is pulled towards it, so little evidence either way.
    assert all(abs(w) < 1.0 for w in weights[f"{PUPILS} in {REGISTER}"].values())


def test_direction_weights_follow_the_counts() -> None:
    d = Direction("a", "b", {PRESENT: 1, ABSENT: 99}, {PRESENT: 500, ABSENT: 500})
    w = d.weights()
    assert w[ABSENT] > 0 > w[PRESENT]
    even = Direction("a", "b", {PRESENT: 50, ABSENT: 50}, {PRESENT: 500, ABSENT: 500})
    assert all(abs(x) < 1e-9 for x in even.weights().values())


def test_explanation_lines_name_the_state_and_its_weight() -> None:
    tables, pairs = _world()
    _, weights = apply(pa.Table.from_pylist(pairs), tables)
    records = pa.concat_tables(tables)

    def one(uid: str) -> pa.Table:
        return records.filter(pc.equal(records["unique_id"], uid))

    lines = evidence(weights, one("stay"), one("namesake"), records)
    assert (PUPILS, PRESENT) in [(who, state) for who, state, _ in lines]
    assert all(w < 0 for who, state, w in lines if state == PRESENT)
    assert evidence(weights, one("stay"), one("mum"), records) == []


def test_a_run_measures_the_evidence_and_saves_it_with_the_model(boroughs: Boroughs) -> None:
    result = link(boroughs.sources(), config=FAST)
    saved = result.model["accord"]["absence_weights"]
    assert set(saved) == {f"{PUPILS} in {REGISTER}", f"{REGISTER} in {PUPILS}"}
    for weights in saved.values():
        assert set(weights) in (set(), {PRESENT, ABSENT})
        assert all(math.isfinite(w) for w in weights.values())


def test_each_explanation_adds_what_the_run_added_to_its_pair() -> None:
    tables, pairs = _world()
    before = pa.Table.from_pylist(pairs)
    after, weights = apply(before, tables)
    records = pa.concat_tables(tables)

    def one(uid: str) -> pa.Table:
        return records.filter(pc.equal(records["unique_id"], uid))

    changed = 0
    for was, now in zip(before.to_pylist(), after.to_pylist(), strict=True):
        lines = evidence(weights, one(was["unique_id_l"]), one(was["unique_id_r"]), records)
        added = now["match_weight"] - was["match_weight"]
        assert sum(bits for _, _, bits in lines) == pytest.approx(added)
        changed += added != 0
    assert changed >= 2

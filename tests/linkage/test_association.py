"""Associative matching: a child who moved with a sibling is linked on names alone."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from accord.catalogue.contract import Contract, Role
from accord.linkage import LinkSource, link
from accord.linkage.household import associate
from accord.linkage.prepare import prepare
from accord.linkage.scoring import Scorer, term_frequencies
from tests.linkage.conftest import FAST, Boroughs
from tests.linkage.pairs import probabilities
from tests.linkage.people import RESIDENTS_CONTRACT, SCHOOL_CONTRACT

pytestmark = pytest.mark.filterwarnings("ignore:Arrow output on a DB-API result")

OLD = ("N1 7LP", "Flat 11, 4 Highbury Lane")
NEW = ("N19 8EQ", "FLAT 11 4 FERN SQUARE")


@pytest.fixture(scope="module")
def trained(boroughs: Boroughs) -> tuple[dict[str, Any], set[Role], list[pa.Table]]:
    result = link(boroughs.sources(), config=FAST)
    return result.model, set(result.roles), [p.table for p in result.prepared.values()]


def _school(*pupils: tuple[str, str, str]) -> LinkSource:
    rows = [
        {
            "pupil_id": key,
            "given_name": given,
            "family_name": "Quennell",
            "date_of_birth": dob,
            "sex": None,
            "home_postcode": OLD[0],
            "home_address": OLD[1],
        }
        for key, given, dob in pupils
    ]
    return LinkSource(
        "camden/pupils", Contract.model_validate(SCHOOL_CONTRACT), pa.Table.from_pylist(rows)
    )


def _register(*residents: tuple[str, str, str | None]) -> LinkSource:
    rows = [
        {
            "resident_id": key,
            "given_name": given,
            "family_name": "QUENNELL",
            "date_of_birth": dob,
            "postcode": NEW[0],
            "address": NEW[1],
        }
        for key, given, dob in residents
    ]
    return LinkSource(
        "islington/residents",
        Contract.model_validate(RESIDENTS_CONTRACT),
        pa.Table.from_pylist(rows),
    )


def _scored(
    trained: tuple[dict[str, Any], set[Role], list[pa.Table]],
    school: LinkSource,
    register: LinkSource,
) -> tuple[dict[tuple[str, str], float], dict[tuple[str, str], float]]:
    model, roles, population = trained
    left, right = prepare(school, roles).table, prepare(register, roles).table
    scorer = Scorer(model, term_frequencies([*population, left, right]))
    pairs = scorer.score(left, right).select(
        ["source_dataset_l", "unique_id_l", "source_dataset_r", "unique_id_r", "match_weight",
         "match_probability"]
    )  # fmt: skip
    # Term frequencies come from every record, as in a run.
    after, _ = associate(pairs, [left, right, *population], model)

    return probabilities(pairs), probabilities(after)


def test_a_sibling_linked_with_certainty_carries_the_household_to_its_new_address(
    trained: tuple[dict[str, Any], set[Role], list[pa.Table]],
) -> None:
    school = _school(("A1", "Aoife", "29/08/2014"), ("A2", "Matthew", "08/12/2011"))
    register = _register(
        ("R1", "AOIFE", "2014-08-29"),  # the anchor: names and date of birth agree
        ("R2", "MATTHEW", None),  # no date of birth on the register: names only
        ("R3", "MICHAEL", "1979-03-02"),  # their father
    )
    before, after = _scored(trained, school, register)
    assert before[("A1", "R1")] >= 0.99
    assert after[("A2", "R2")] > before[("A2", "R2")]
    assert after[("A2", "R2")] >= 0.95
    assert after[("A2", "R3")] < 0.5  # at one address, Matthew is still not his father


def test_without_a_sibling_to_corroborate_it_a_name_only_match_elsewhere_is_left_alone(
    trained: tuple[dict[str, Any], set[Role], list[pa.Table]],
) -> None:
    school = _school(("A2", "Matthew", "08/12/2011"))
    register = _register(("R2", "MATTHEW", None), ("R3", "MICHAEL", "1979-03-02"))
    before, after = _scored(trained, school, register)
    assert after == before


def test_term_frequencies_are_the_same_looked_up_for_one_record_or_for_many(
    trained: tuple[dict[str, Any], set[Role], list[pa.Table]],
) -> None:
    model, _, population = trained
    tf = term_frequencies(population)
    records = pa.concat_tables(population, promote_options="default")
    many = Scorer(model, tf).with_tf(records)  # one vectorised look-up over every record
    reused = Scorer(model, tf, many_calls=True)  # as incremental matching keeps it: dicts
    ones = pa.concat_tables([reused.with_tf(records.slice(i, 1)) for i in range(0, 400, 7)])
    for column in ("tf_given_name", "tf_family_name", "tf_postcode"):
        expected = [many.column(column)[i].as_py() for i in range(0, 400, 7)]
        assert ones.column(column).to_pylist() == expected
        assert any(v is not None for v in expected)

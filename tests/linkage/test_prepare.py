"""Preparation keeps what linkage needs and drops what would mislead it."""

from __future__ import annotations

import random

import nhs_number
import pyarrow as pa

from accord.catalogue.contract import Contract, Role
from accord.linkage.prepare import prepare
from accord.linkage.source import LinkSource


def _source(fields: list[dict], rows: dict) -> LinkSource:
    contract = Contract.model_validate(
        {
            "name": "things",
            "owner": "somewhere",
            "title": "t",
            "schema": {"primaryKey": "id", "fields": [{"name": "id", "type": "string"}, *fields]},
        }
    )
    return LinkSource("somewhere/things", contract, pa.table(rows))


def test_only_nhs_numbers_with_a_valid_check_digit_are_kept() -> None:
    rnd = random.Random(5)
    numbers = [f"{rnd.randrange(10**9, 10**10)}" for _ in range(400)]
    numbers += [nhs_number.generate(for_region=nhs_number.REGION_ENGLAND)[0] for _ in range(100)]
    source = _source(
        [{"name": "nhs", "accord": {"category": "personal", "role": "nhs_number"}}],
        {"id": [str(i) for i in range(len(numbers))], "nhs": numbers},
    )
    prepared = prepare(source, {Role.nhs_number})
    kept = dict(
        zip(
            prepared.table.column("unique_id").to_pylist(),
            prepared.table.column("nhs_number").to_pylist(),
            strict=True,
        )
    )
    for i, number in enumerate(numbers):
        assert (kept[str(i)] is not None) == nhs_number.is_valid(number), number
    assert prepared.invalid_nhs_numbers == sum(not nhs_number.is_valid(n) for n in numbers)


def test_dates_of_birth_keep_their_parts_even_when_not_a_valid_date() -> None:
    source = _source(
        [
            {
                "name": "dob",
                "format": "%d/%m/%Y",
                "accord": {"category": "personal", "role": "date_of_birth"},
            }
        ],
        {"id": ["a", "b", "c"], "dob": ["03/04/2012", "31/13/2012", None]},
    )
    rows = prepare(source, {Role.date_of_birth}).table.to_pylist()
    assert (rows[0]["dob"], rows[0]["dob_d"], rows[0]["dob_m"]) == ("2012-04-03", "03", "04")
    assert rows[1]["dob_m"] == "13"  # kept for the "one component off" comparison
    assert rows[2]["dob"] is None


def test_sex_codes_are_read_the_nhs_way_too() -> None:
    source = _source(
        [{"name": "sex", "accord": {"category": "personal", "role": "sex"}}],
        {"id": ["a", "b", "c", "d"], "sex": ["Male", "2", "F", "9"]},
    )
    assert prepare(source, {Role.sex}).table.column("sex").to_pylist() == ["m", "f", "f", None]


def test_given_names_carry_their_nickname_groups() -> None:
    source = _source(
        [{"name": "given", "accord": {"category": "personal", "role": "given_name"}}],
        {"id": ["a", "b"], "given": ["Bob", "ROBERT"]},
    )
    groups = prepare(source, {Role.given_name}).table.column("given_group").to_pylist()
    assert "robert" in set(groups[0]) & set(groups[1])


def test_an_address_keeps_its_first_number_for_blocking() -> None:
    source = _source(
        [{"name": "addr", "accord": {"category": "personal", "role": "address"}}],
        {"id": ["a", "b", "c"], "addr": ["Flat 3, 12 High St", "Rose Cottage", None]},
    )
    table = prepare(source, {Role.address}).table
    assert table.column("address").to_pylist()[0] == "flat 3 12 high street"
    assert table.column("address_number").to_pylist() == ["3", None, None]


def test_address_abbreviations_are_expanded_as_whole_words_only() -> None:
    addresses = [
        "12 St. Mary's Rd",
        "Apt 4, 9 Stanley Ave",
        "Flt 2 Rd End Gdns",
        "  7  Church  Cl  ",
        "Apartment 10 Ter Tce Ct",
        "15 Rdx Ave2 Hse",
        "Ça Ira, 3 Cres",
        "!!",
        None,
    ]
    source = _source(
        [{"name": "addr", "accord": {"category": "personal", "role": "address"}}],
        {"id": [str(i) for i in range(len(addresses))], "addr": addresses},
    )
    table = prepare(source, {Role.address}).table
    got = dict(
        zip(table.column("unique_id").to_pylist(), table.column("address").to_pylist(), strict=True)
    )
    assert [got[str(i)] for i in range(len(addresses))] == [
        "12 street mary s road",
        "flat 4 9 stanley avenue",
        "flat 2 road end gardens",
        "7 church close",
        "flat 10 terrace terrace court",
        "15 rdx ave2 house",
        "ca ira 3 crescent",
        None,
        None,
    ]

"""Comparisons and blocking rules come from the identifier roles in the contracts."""

from __future__ import annotations

import pyarrow as pa

from accord.catalogue.contract import Contract, Role
from accord.linkage.blocking import REGISTRY, select
from accord.linkage.comparisons import select_templates
from accord.linkage.engine import build_settings, link_roles
from accord.linkage.prepare import prepare
from accord.linkage.source import KEYED, LinkSource
from tests.linkage.people import CUSTOMERS_CONTRACT, RESIDENTS_CONTRACT, SCHOOL_CONTRACT


def _names(roles: set[Role], **encodings: str) -> list[str]:
    return [t.name for t in select_templates(roles, {Role(k): v for k, v in encodings.items()})]


def test_a_contract_without_nhs_number_gets_no_nhs_comparison() -> None:
    school = LinkSource("camden/pupils", Contract.model_validate(SCHOOL_CONTRACT), pa.table({}))
    residents = LinkSource(
        "islington/residents", Contract.model_validate(RESIDENTS_CONTRACT), pa.table({})
    )
    roles = link_roles([school, residents])
    names = _names(roles)
    assert "nhs_number" not in names
    assert {"given_name", "family_name", "date_of_birth", "location", "household"} <= set(names)


def test_nhs_number_is_compared_when_both_sources_hold_it() -> None:
    assert "nhs_number" in _names({Role.nhs_number, Role.date_of_birth})


def test_roles_the_agreement_does_not_permit_are_not_compared() -> None:
    school = LinkSource("camden/pupils", Contract.model_validate(SCHOOL_CONTRACT), pa.table({}))
    residents = LinkSource(
        "islington/residents", Contract.model_validate(RESIDENTS_CONTRACT), pa.table({})
    )
    roles = link_roles(
        [school, residents], permitted=["given_name", "family_name", "date_of_birth"]
    )
    assert roles == {Role.given_name, Role.family_name, Role.date_of_birth}


def test_a_keyed_pseudonym_is_compared_exactly_and_never_fuzzily() -> None:
    assert _names({Role.nhs_number}, nhs_number=KEYED) == ["nhs_number_keyed"]
    assert _names({Role.given_name}, given_name=KEYED) == []


def test_blocking_rules_are_chosen_from_the_roles_present() -> None:
    names = [t.name for t in select(REGISTRY, {Role.given_name, Role.family_name, Role.postcode})]
    assert "swapped" in names and "names+area" in names
    assert not any("dob" in n or n == "nhs_number" for n in names)


def test_settings_carry_one_comparison_per_applicable_template() -> None:
    built = build_settings({Role.given_name, Role.family_name, Role.date_of_birth}, "link_only")
    outputs = [
        c.create_comparison_dict("duckdb")["output_column_name"]
        for c in built["creator"].comparisons
    ]
    assert outputs == ["given_name", "family_name", "date_of_birth"]


def test_a_full_name_is_split_into_given_and_family_names() -> None:
    table = pa.table(
        {
            "customer_id": ["c1", "c2", "c3"],
            "full_name": ["Mr Mohammed Al Rashid", "SMITH, John Paul", "Dr Zoë O'Neill-Brown"],
            "delivery_postcode": ["nw12ab", "N1 2BA", None],
            "delivery_address": ["1 High St", "2 Church Rd", None],
        }
    )
    source = LinkSource("freshmart/customers", Contract.model_validate(CUSTOMERS_CONTRACT), table)
    roles = {Role.given_name, Role.middle_name, Role.family_name, Role.postcode, Role.address}
    rows = prepare(source, roles).table.to_pylist()
    assert [(r["given_name"], r["middle_name"], r["family_name"]) for r in rows] == [
        ("mohammed", None, "alrashid"),
        ("john", "paul", "smith"),
        ("zoe", None, "oneillbrown"),
    ]
    assert rows[0]["postcode"] == "NW1 2AB" and rows[0]["postcode_sector"] == "NW1 2"
    assert rows[0]["address"] == "1 high street"

"""Contracts: a bad contract is refused with the field and the problem named."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from accord import Trust
from accord.catalogue.contract import load_contract, parse_contract
from accord.errors import AlreadyExists, InvalidInput

GOOD: dict[str, Any] = {
    "name": "school_census",
    "owner": "camden",
    "title": "Camden school census",
    "freshness_sla_days": 120,
    "schema": {
        "primaryKey": "pupil_id",
        "fields": [
            {"name": "pupil_id", "type": "string", "constraints": {"required": True}},
            {
                "name": "date_of_birth",
                "type": "date",
                "format": "%d/%m/%Y",
                "accord": {"category": "personal", "role": "date_of_birth"},
            },
            {"name": "postcode", "type": "string", "accord": {"role": "postcode"}},
        ],
    },
}


def broken(change: Any) -> dict[str, Any]:
    contract = copy.deepcopy(GOOD)
    change(contract)
    return contract


def problems(contract: dict[str, Any]) -> str:
    with pytest.raises(InvalidInput) as caught:
        parse_contract(contract)
    return str(caught.value)


def test_a_good_contract_is_accepted_with_its_roles() -> None:
    contract = parse_contract(GOOD)
    assert contract.primary_key == ["pupil_id"]
    assert [f.name for f in contract.fields_with_role("postcode")] == ["postcode"]


def test_a_misspelt_key_names_the_field_and_the_key() -> None:
    text = problems(broken(lambda c: c["schema"]["fields"][0]["constraints"].update(requird=True)))
    assert "field 'pupil_id', constraints.requird: is not a contract key (misspelt?)" in text


def test_a_misspelt_top_level_key_is_named() -> None:
    text = problems(broken(lambda c: c.update(freshnes_sla_days=3)))
    assert "freshnes_sla_days: is not a contract key (misspelt?)" in text


def test_an_unknown_type_names_the_field_and_the_allowed_types() -> None:
    text = problems(broken(lambda c: c["schema"]["fields"][2].update(type="text")))
    assert "field 'postcode', type" in text and "'string'" in text and "'date'" in text


def test_a_primary_key_that_is_not_a_field_is_named() -> None:
    text = problems(broken(lambda c: c["schema"].update(primaryKey="pupil")))
    assert "primaryKey names 'pupil', which is not a field" in text


def test_an_unknown_role_names_the_field_and_the_known_roles() -> None:
    text = problems(broken(lambda c: c["schema"]["fields"][2]["accord"].update(role="zip")))
    assert "field 'postcode', accord.role" in text and "'nhs_number'" in text


def test_a_bad_regex_names_the_field_and_the_pattern() -> None:
    text = problems(
        broken(lambda c: c["schema"]["fields"][0]["constraints"].update(pattern="P([0-9]"))
    )
    assert "field 'pupil_id', constraints.pattern" in text
    assert "'P([0-9]' is not a valid regular expression" in text


def test_a_bad_category_is_refused() -> None:
    text = problems(broken(lambda c: c["schema"]["fields"][1]["accord"].update(category="secret")))
    assert "field 'date_of_birth', accord.category" in text


def test_a_field_declared_twice_is_refused() -> None:
    text = problems(broken(lambda c: c["schema"]["fields"].append({"name": "postcode"})))
    assert "field 'postcode' is declared twice" in text


def test_a_contract_file_that_is_not_yaml_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("name: [unclosed\n")
    with pytest.raises(InvalidInput, match="not valid YAML"):
        load_contract(path)


def test_registering_twice_needs_replace_to_change_the_contract(trust: Trust) -> None:
    trust.catalogue.add_member("camden", "London Borough of Camden")
    trust.catalogue.register_dataset(GOOD)
    assert trust.catalogue.register_dataset(GOOD).ref == "camden/school_census"  # same: no-op
    changed = broken(lambda c: c.update(title="Camden census, spring"))
    with pytest.raises(AlreadyExists, match="--replace"):
        trust.catalogue.register_dataset(changed)
    assert trust.catalogue.register_dataset(changed, replace=True).title == "Camden census, spring"

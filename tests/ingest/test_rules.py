"""Each kind of bad row goes to quarantine with its row number, field and reason; the good rows
are accepted."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from accord import Trust

from .helpers import HEADER, contract_with


def ingest_one_field(
    trust: Trust,
    dataset: Callable[..., str],
    write: Callable[..., Path],
    field: dict[str, Any],
    values: list[str],
) -> tuple[Any, list[dict[str, Any]]]:
    """Ingest rows P1.. with ``values`` in the extra field ``x``; return result and quarantine."""
    ref = dataset(contract_with({"name": "x", **field}))
    lines = [f"{HEADER},x"] + [f"P{i},Ann,{i},{v}" for i, v in enumerate(values, start=1)]
    result = trust.ingest.ingest(ref, write("\n".join(lines) + "\n"))
    return result, trust.ingest.quarantine(ref).to_pylist()


def lines_for(quarantine: list[dict[str, Any]]) -> list[tuple[int, str, str]]:
    return [(q["row_number"], q["field"], q["rule"]) for q in quarantine]


def test_a_value_of_the_wrong_type_is_quarantined(trust, dataset, write) -> None:
    result, q = ingest_one_field(trust, dataset, write, {"type": "integer"}, ["7", "seven", "1.5"])
    assert lines_for(q) == [(2, "x", "type"), (3, "x", "type")]
    assert q[0]["reason"] == "not a whole number" and q[0]["x"] == "seven"
    assert (result.rows_accepted, result.rows_quarantined) == (1, 2)


def test_a_missing_required_value_is_quarantined(trust, dataset, write) -> None:
    field = {"type": "string", "constraints": {"required": True}}
    _, q = ingest_one_field(trust, dataset, write, field, ["a", "", "  "])
    assert lines_for(q) == [(2, "x", "required"), (3, "x", "required")]
    assert "required" in q[0]["reason"]


def test_a_duplicate_of_a_unique_field_keeps_the_first_row(trust, dataset, write) -> None:
    field = {"type": "string", "constraints": {"unique": True}}
    result, q = ingest_one_field(trust, dataset, write, field, ["a", "b", "a", "a"])
    assert lines_for(q) == [(3, "x", "unique"), (4, "x", "unique")]
    assert q[0]["reason"] == "duplicate of row 1"
    assert [r["x"] for r in trust.ingest.read_version(result.ref).to_pylist()] == ["a", "b"]


def test_a_duplicate_primary_key_is_quarantined(trust, dataset, write) -> None:
    ref = dataset()
    path = write(f"{HEADER}\nP1,Ann,1\nP2,Bob,2\nP1,Cat,3\n")
    trust.ingest.ingest(ref, path)
    q = trust.ingest.quarantine(ref).to_pylist()
    assert lines_for(q) == [(3, "pupil_id", "primary_key")]
    assert q[0]["reason"] == "duplicate primary key of row 1"


def test_a_value_outside_the_enum_is_quarantined(trust, dataset, write) -> None:
    field = {"type": "string", "constraints": {"enum": ["F", "M"]}}
    _, q = ingest_one_field(trust, dataset, write, field, ["F", "f", "M"])
    assert lines_for(q) == [(2, "x", "enum")]
    assert q[0]["reason"] == "not one of the allowed values (F, M)"


def test_a_value_not_matching_the_pattern_is_quarantined(trust, dataset, write) -> None:
    field = {"type": "string", "constraints": {"pattern": "[A-Z][0-9]{3}"}}
    _, q = ingest_one_field(trust, dataset, write, field, ["A123", "A1234", "a123"])
    assert lines_for(q) == [(2, "x", "pattern"), (3, "x", "pattern")]


def test_values_outside_minimum_and_maximum_are_quarantined(trust, dataset, write) -> None:
    field = {"type": "number", "constraints": {"minimum": 0, "maximum": 10.5}}
    _, q = ingest_one_field(trust, dataset, write, field, ["-0.1", "0", "10.5", "10.6"])
    assert lines_for(q) == [(1, "x", "minimum"), (4, "x", "maximum")]
    assert q[0]["reason"] == "below the minimum 0"


def test_values_outside_min_and_max_length_are_quarantined(trust, dataset, write) -> None:
    field = {"type": "string", "constraints": {"minLength": 2, "maxLength": 3}}
    _, q = ingest_one_field(trust, dataset, write, field, ["a", "ab", "abc", "abcd"])
    assert lines_for(q) == [(1, "x", "minLength"), (4, "x", "maxLength")]


def test_an_nhs_number_with_a_bad_check_digit_is_quarantined(trust, dataset, write) -> None:
    from nhs_number import is_valid

    field = {"type": "string", "accord": {"category": "personal", "role": "nhs_number"}}
    values = ["943 476 5919", "9434765918", "943476591", "4010232137", "4010232138"]
    result, q = ingest_one_field(trust, dataset, write, field, values)
    expected_bad = [i for i, v in enumerate(values, 1) if not is_valid(v.replace(" ", ""))]
    assert [row for row, _, rule in lines_for(q) if rule == "nhs_number"] == expected_bad
    stored = [r["x"] for r in trust.ingest.read_version(result.ref).to_pylist()]
    assert stored == ["9434765919", "4010232137"]  # spaces removed on storage


def test_an_impossible_date_is_quarantined(trust, dataset, write) -> None:
    field = {"type": "date", "format": "%d/%m/%Y"}
    result, q = ingest_one_field(
        trust, dataset, write, field, ["29/02/2020", "31/02/2020", "2020-01-01"]
    )
    assert lines_for(q) == [(2, "x", "date"), (3, "x", "type")]
    assert "not a real date" in q[0]["reason"]
    assert q[1]["reason"] == "not a date in the form DD/MM/YYYY"
    assert str(trust.ingest.read_version(result.ref).to_pylist()[0]["x"]) == "2020-02-29"


def test_a_malformed_postcode_is_quarantined_and_good_ones_normalised(
    trust, dataset, write
) -> None:
    field = {"type": "string", "accord": {"category": "personal", "role": "postcode"}}
    values = ["nw1 2ab", "SW1A1AA", "NW1  2AB", "12345", "N1", "EC1A 1BBX"]
    result, q = ingest_one_field(trust, dataset, write, field, values)
    assert lines_for(q) == [(4, "x", "postcode"), (5, "x", "postcode"), (6, "x", "postcode")]
    stored = [r["x"] for r in trust.ingest.read_version(result.ref).to_pylist()]
    assert stored == ["NW1 2AB", "SW1A 1AA", "NW1 2AB"]


def test_a_row_with_several_problems_counts_once(trust, dataset, write) -> None:
    ref = dataset(contract_with({"name": "x", "type": "integer", "constraints": {"maximum": 5}}))
    result = trust.ingest.ingest(ref, write(f"{HEADER},x\nP1,Ann,old,9\nP2,Bob,3,4\n"))
    q = trust.ingest.quarantine(ref).to_pylist()
    assert lines_for(q) == [(1, "age", "type"), (1, "x", "maximum")]
    assert (result.rows_quarantined, result.rows_accepted) == (1, 1)
    assert result.reason_counts() == {"age: not a whole number": 1, "x: above the maximum 5": 1}


def test_booleans_use_the_contracts_true_and_false_values(trust, dataset, write) -> None:
    field = {"type": "boolean", "trueValues": ["Y"], "falseValues": ["N"]}
    result, q = ingest_one_field(trust, dataset, write, field, ["Y", "N", "yes"])
    assert lines_for(q) == [(3, "x", "type")]
    assert [r["x"] for r in trust.ingest.read_version(result.ref).to_pylist()] == [True, False]


def test_stored_columns_have_the_contracts_types(trust, dataset, write) -> None:
    import pyarrow as pa

    ref = dataset(contract_with({"name": "born", "type": "date"}, {"name": "w", "type": "number"}))
    trust.ingest.ingest(ref, write(f"{HEADER},born,w\nP1,Ann,7,2019-05-01,3.5\n"))
    schema = trust.ingest.read_version(ref).schema
    assert schema.field("age").type == pa.int64()
    assert schema.field("born").type == pa.date32()
    assert schema.field("w").type == pa.float64()
    assert schema.field("name").type == pa.string()


def test_a_trust_can_add_its_own_rule(trust, dataset, write) -> None:
    from accord.ingest.rules import RULES, Finding, register_rule

    @register_rule("no_test_names")
    def no_test_names(t):  # type: ignore[no-untyped-def]
        if t.field.name != "name":
            return None
        return Finding(f"upper({t.text}) = 'TEST'", "looks like a test record")

    try:
        ref = dataset()
        trust.ingest.ingest(ref, write(f"{HEADER}\nP1,Ann,1\nP2,test,2\n"))
        q = trust.ingest.quarantine(ref).to_pylist()
        assert lines_for(q) == [(2, "name", "no_test_names")]
    finally:
        del RULES["no_test_names"]


@pytest.mark.parametrize("bad", ["x(?=y)"])
def test_a_pattern_the_engine_cannot_run_is_refused_naming_the_field(
    trust, dataset, write, bad
) -> None:
    from accord.errors import InvalidInput

    ref = dataset(contract_with({"name": "x", "type": "string", "constraints": {"pattern": bad}}))
    with pytest.raises(InvalidInput, match="Field 'x'"):
        trust.ingest.ingest(ref, write(f"{HEADER},x\nP1,Ann,1,a\n"))
    assert trust.catalogue.versions(ref) == []


def test_a_duplicate_composite_key_names_its_first_good_row(trust, dataset, write) -> None:
    ref = dataset(
        contract_with({"name": "term", "type": "integer"}, primary_key=["pupil_id", "term"])
    )
    text = "pupil_id,name,age,term\nP1,Ann,x,1\nP1,Ann,1,1\nP1,Ann,2,2\nP1,Bob,3,1\n"
    result = trust.ingest.ingest(ref, write(text))
    q = trust.ingest.quarantine(ref).to_pylist()
    # Row 1 is bad (age), so row 2 is the first good row with key (P1, 1); row 4 repeats it.
    assert lines_for(q) == [(1, "age", "type"), (4, "pupil_id+term", "primary_key")]
    assert q[1]["reason"] == "duplicate primary key of row 2" and q[1]["name"] == "Bob"
    assert result.row_count == 2


def test_a_missing_unique_value_is_not_a_duplicate(trust, dataset, write) -> None:
    field = {"type": "string", "constraints": {"unique": True}}
    result, q = ingest_one_field(trust, dataset, write, field, ["", "a", "", "a"])
    assert lines_for(q) == [(4, "x", "unique")]
    assert result.rows_accepted == 3


def test_a_trust_can_add_a_set_rule_over_the_good_rows(trust, dataset, write) -> None:
    from accord.ingest.rules import RULES, Finding, register_rule

    @register_rule("one_per_name", stage="set")
    def one_per_name(t):  # type: ignore[no-untyped-def]
        if t.field.name != "name":
            return None
        last = f"max(__row) OVER (PARTITION BY {t.text})"
        return Finding(f"__row <> {last}", "not the latest row for this name")

    try:
        ref = dataset()
        trust.ingest.ingest(ref, write(f"{HEADER}\nP1,Ann,1\nP2,Ann,2\nP3,Bob,x\nP4,Bob,4\n"))
        q = trust.ingest.quarantine(ref).to_pylist()
        assert lines_for(q) == [(1, "name", "one_per_name"), (3, "age", "type")]
    finally:
        del RULES["one_per_name"]


def test_good_rows_keep_the_order_of_the_file(trust, dataset, write) -> None:
    ref = dataset()
    ids = [f"P{(i * 7919) % 5000:04d}" for i in range(5000)]  # a shuffled order, no repeats
    lines = [HEADER] + [f"{pid},Ann,{'x' if n % 97 == 0 else n % 90}" for n, pid in enumerate(ids)]
    result = trust.ingest.ingest(ref, write("\n".join(lines) + "\n"))
    stored = [r["pupil_id"] for r in trust.ingest.read_version(ref).to_pylist()]
    assert stored == [pid for n, pid in enumerate(ids) if n % 97 != 0]
    assert result.rows_quarantined == len(range(0, 5000, 97))


@pytest.mark.slow
def test_good_rows_keep_the_order_of_a_large_file(sqlite_trust, tmp_path) -> None:
    # Several of DuckDB's row groups (122,880 rows), read and written by parallel threads.
    sqlite_trust.catalogue.add_member("camden", "Camden")
    ref = sqlite_trust.catalogue.register_dataset(contract_with()).ref
    rows = 400_000
    lines = [HEADER]
    for n in range(rows):
        key = n - 1 if n % 1000 == 999 else n  # a later duplicate of the row before
        lines.append(f"P{key:07d},Ann,{'x' if n % 1000 == 500 else n % 90}")
    path = tmp_path / "large.csv"
    path.write_text("\n".join(lines) + "\n")
    result = sqlite_trust.ingest.ingest(ref, path)
    stored = sqlite_trust.ingest.read_version(ref).column("pupil_id").to_pylist()
    assert result.rows_quarantined == 2 * (rows // 1000)
    assert stored == sorted(stored) and len(set(stored)) == len(stored)


def test_a_later_duplicate_shows_the_files_own_text_in_quarantine(trust, dataset, write) -> None:
    postcode = {"name": "x", "type": "string", "accord": {"role": "postcode"}}
    nhs = {"name": "n", "type": "string", "accord": {"role": "nhs_number"}}
    ref = dataset(contract_with(postcode, nhs))
    rows = ["P1,Ann,7,NW1 2AB,9434765919", 'P1,"  ",07,nw1 2ab,943 476 5919', "P2,Bob,8,,"]
    result = trust.ingest.ingest(ref, write("\n".join([f"{HEADER},x,n", *rows]) + "\n"))
    q = trust.ingest.quarantine(ref).to_pylist()
    assert lines_for(q) == [(2, "pupil_id", "primary_key")]
    assert q[0]["reason"] == "duplicate primary key of row 1"
    # Stored values are cleaned and normalised; quarantine keeps what the file held.
    assert (q[0]["name"], q[0]["age"], q[0]["x"], q[0]["n"]) == (
        "  ",
        "07",
        "nw1 2ab",
        "943 476 5919",
    )
    stored = trust.ingest.read_version(result.ref).to_pylist()
    assert [(r["pupil_id"], r["x"], r["n"]) for r in stored] == [
        ("P1", "NW1 2AB", "9434765919"),
        ("P2", None, None),
    ]

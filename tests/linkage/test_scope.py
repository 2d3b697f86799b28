"""An agreement's row scope and fields bound what linkage reads: records outside the scope are
not shared, so they are never read, linked or given a person key."""

from __future__ import annotations

import copy
from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from accord import Trust
from accord.agreements.model import parse_agreement
from accord.agreements.templates import render_template
from tests.linkage.conftest import FAST, Boroughs
from tests.linkage.people import RESIDENTS_CONTRACT, SCHOOL_CONTRACT

pytestmark = pytest.mark.filterwarnings("ignore:Arrow output on a DB-API result")

AGREEMENT = "fsm-camden-islington"
PUPILS, RESIDENTS = "camden/pupils", "islington/residents"
SHARED = ["given_name", "family_name", "date_of_birth", "home_postcode", "home_address"]
SCOPE = "home_borough = 'islington' AND fsm = TRUE"


def _census(boroughs: Boroughs) -> pa.Table:
    """The pupils with a home borough and a free-school-meals flag (about a third in scope)."""
    n = boroughs.school.num_rows
    return boroughs.school.append_column(
        "home_borough", pa.array(["camden" if i % 3 == 0 else "islington" for i in range(n)])
    ).append_column("fsm", pa.array([i % 2 == 0 for i in range(n)]))


def _in_scope(census: pa.Table) -> set[str]:
    return {
        r["pupil_id"] for r in census.to_pylist() if r["home_borough"] == "islington" and r["fsm"]
    }


def _agreed(trust: Trust, boroughs: Boroughs) -> pa.Table:
    """Both extracts ingested and the FSM agreement, with the row scope, signed by both."""
    contract = copy.deepcopy(SCHOOL_CONTRACT)
    contract["schema"]["fields"] += [
        {"name": "home_borough", "type": "string", "accord": {"category": "none"}},
        {"name": "fsm", "type": "boolean", "accord": {"category": "none"}},
    ]
    census = _census(boroughs)
    for member, title in (("camden", "Camden"), ("islington", "Islington")):
        trust.catalogue.add_member(member, title)
        trust.catalogue.add_user(f"ig@{member}.test", member, ["ig-lead"])
    for spec, table, ref in (
        (contract, census, PUPILS),
        (RESIDENTS_CONTRACT, boroughs.residents, RESIDENTS),
    ):
        trust.catalogue.register_dataset(spec)
        trust.ingest.ingest(ref, table)
    data = yaml.safe_load(render_template("fsm", today=date.today()))
    data["datasets"] = [
        {"dataset": PUPILS, "fields": SHARED, "row_scope": SCOPE},
        {"dataset": RESIDENTS, "fields": ["resident_id", "given_name", "family_name",
                                          "date_of_birth", "postcode", "address"]},
    ]  # fmt: skip
    data["outputs"]["record_level"]["fields"] = [
        f"{RESIDENTS}.{f}" for f in ("resident_id", "given_name", "family_name", "address")
    ]
    agreement = parse_agreement(data)
    trust.agreements.propose(agreement)
    for controller in agreement.controllers:
        trust.agreements.sign(agreement.id, f"ig@{controller}.test")
    return census


def test_linkage_reads_only_in_scope_rows_and_shared_fields(
    sqlite_trust: Trust, boroughs: Boroughs
) -> None:
    census = _agreed(sqlite_trust, boroughs)
    pupils = {s.ref: s for s in sqlite_trust.linkage.sources(AGREEMENT)}[PUPILS].read()
    assert set(pupils.column("pupil_id").to_pylist()) == _in_scope(census)
    # sex, home_borough and fsm are in the contract but not shared; the record key is read.
    assert sorted(pupils.column_names) == sorted(["pupil_id", *SHARED])


def test_records_outside_the_scope_get_no_person_key(trust: Trust, boroughs: Boroughs) -> None:
    census = _agreed(trust, boroughs)
    run = trust.linkage.run(AGREEMENT, config=FAST)
    keys = pq.read_table(trust.linkage.keys_path(AGREEMENT)).to_pylist()
    pupils = {k["record_key"] for k in keys if k["dataset"] == PUPILS}
    assert pupils == _in_scope(census)
    assert run.records == len(pupils) + boroughs.residents.num_rows


def test_an_arriving_record_outside_the_scope_is_not_matched(
    sqlite_trust: Trust, boroughs: Boroughs
) -> None:
    census = _agreed(sqlite_trust, boroughs)
    sqlite_trust.linkage.run(AGREEMENT, config=FAST)
    row = census.to_pylist()[0]
    inside = dict(row, pupil_id="NEW-IN", home_borough="islington", fsm=True)
    outside = dict(row, pupil_id="NEW-OUT", home_borough="camden", fsm=True)
    matches = sqlite_trust.linkage.match_records(
        AGREEMENT, PUPILS, pa.Table.from_pylist([inside, outside], schema=census.schema)
    )
    assert [m.record_key for m in matches] == ["NEW-IN"]
    keys = pq.read_table(sqlite_trust.linkage.keys_path(AGREEMENT))
    assert "NEW-OUT" not in keys.column("record_key").to_pylist()

"""The three stories of DESIGN.md end to end, checked against the synthetic ground truth.

Each story runs once per module (on SQLite) on a small population; each test states one fact
a council, an IG lead or a citizen would check.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from accord import Trust
from accord.demo import STORIES, DemoResult, run_story
from accord.demo.quality import truth_map

PEOPLE = 4000


def _run(tmp_path_factory: pytest.TempPathFactory, story: str) -> DemoResult:
    home = tmp_path_factory.mktemp(story) / "home"
    return run_story(STORIES[story], home, people=PEOPLE, seed=11)


@pytest.fixture(scope="module")
def fsm(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    return _run(tmp_path_factory, "fsm")


@pytest.fixture(scope="module")
def vps(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    return _run(tmp_path_factory, "vps")


@pytest.fixture(scope="module")
def homelessness(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    return _run(tmp_path_factory, "homelessness")


def _truth(result: DemoResult, ref: str) -> dict[str, str]:
    return truth_map(result.synthetic, ref)


def _accepted(result: DemoResult, ref: str, where: str = "TRUE") -> pa.Table:
    with Trust.open(result.home) as trust:
        path = trust.ingest.version_path(ref)
    return duckdb.sql(f"SELECT * FROM read_parquet('{path}') WHERE {where}").arrow().read_all()


def _contributors(result: DemoResult, label: str) -> pa.Table:
    with Trust.open(result.home) as trust:
        return trust.queries.contributors(result.releases[label].id)


def _released_people(result: DemoResult, label: str, ref: str) -> set[str]:
    truth = _truth(result, ref)
    table = _contributors(result, label)
    rows = table.filter(pa.compute.equal(table.column("dataset"), ref))
    return {truth[k] for k in rows.column("record_key").to_pylist()}


def _people(result: DemoResult) -> pa.Table:
    return pq.read_table(result.synthetic / "people.parquet")


# -- free school meals ----------------------------------------------------------------------

FSM_LIST = "Islington's resident FSM families (record level)"


def test_fsm_agreement_became_active_and_the_log_verifies(fsm: DemoResult) -> None:
    assert "fsm-camden-islington" in fsm.time_to_active
    assert fsm.audit is not None and fsm.audit.ok


def test_fsm_list_holds_only_islington_resident_fsm_pupils_of_camden_schools(
    fsm: DemoResult,
) -> None:
    census = _truth(fsm, "camden/school_census")
    in_scope = _accepted(fsm, "camden/school_census", "home_borough = 'islington' AND fsm_eligible")
    expected = {census[k] for k in in_scope.column("pupil_id").to_pylist()}
    residents = _truth(fsm, "islington/residents")
    on_register = {residents[str(k)] for k in _accepted(fsm, "islington/residents")
                   .column("resident_id").to_pylist()}  # fmt: skip
    findable = expected & on_register
    pupils = _released_people(fsm, FSM_LIST, "camden/school_census")
    adults_or_children = _released_people(fsm, FSM_LIST, "islington/residents")
    assert pupils, "the list should not be empty"
    assert pupils <= expected, "a pupil outside the agreement's row scope was released"
    assert adults_or_children <= findable, "a resident was linked to the wrong pupil"
    assert len(pupils & findable) / len(findable) >= 0.8


def test_fsm_list_carries_only_the_permitted_columns(fsm: DemoResult) -> None:
    columns = set(fsm.releases[FSM_LIST].table.column_names)
    assert columns == {
        "household_id", "given_name", "family_name", "address", "postcode", "school_name"
    }  # fmt: skip


def test_fsm_counts_per_school_are_disclosure_controlled(fsm: DemoResult) -> None:
    release = fsm.releases["How many of them per school (aggregate, with disclosure control)"]
    assert release.output == "aggregate"
    for value in release.table.column("pupils").to_pylist():
        assert value is None or (value >= 10 and value % 5 == 0)


def test_fsm_question_about_every_pupils_status_is_refused(fsm: DemoResult) -> None:
    reason = fsm.refusals["Trying to see every Camden pupil's FSM status (refused)"]
    assert "fsm_eligible" in reason


def test_fsm_linkage_is_measured_against_the_truth(fsm: DemoResult) -> None:
    quality = fsm.quality["fsm-camden-islington"]
    assert quality.precision >= 0.95


# -- vulnerable persons service -------------------------------------------------------------


def _shielded(vps: DemoResult, where: str) -> set[str]:
    truth = _truth(vps, "nhs/shielding_list")
    rows = _accepted(vps, "nhs/shielding_list", where)
    return {truth[k] for k in rows.column("nhs_number").to_pylist()}


def _scope(vps: DemoResult, member: str) -> str:
    with Trust.open(vps.home) as trust:
        grant = trust.agreements.grant(
            f"analyst@{member}.example", "vps-shielding-food", "shielding-food-support"
        )
    scope = grant.datasets["nhs/shielding_list"].row_scope
    return scope or "TRUE"


@pytest.mark.parametrize(
    ("member", "label"),
    [("camden", "Camden's food-parcel list"), ("islington", "Islington's food-parcel list")],
)
def test_each_council_gets_exactly_its_own_shielding_residents(
    vps: DemoResult, member: str, label: str
) -> None:
    released = _released_people(vps, label, "nhs/shielding_list")
    assert released == _shielded(vps, _scope(vps, member))
    assert set(vps.releases[label].table.column_names) == {
        "given_name", "family_name", "address", "postcode", "needs_food_support"
    }  # fmt: skip


def test_opted_out_patients_still_get_food_support(vps: DemoResult) -> None:
    people = _people(vps)
    opted_out = {
        p for p, o in zip(
            people.column("true_person_id").to_pylist(),
            people.column("national_opt_out").to_pylist(), strict=True
        ) if o
    }  # fmt: skip
    released = _released_people(vps, "Camden's food-parcel list", "nhs/shielding_list")
    in_scope = _shielded(vps, _scope(vps, "camden"))
    assert released & opted_out == in_scope & opted_out


def test_supermarket_gets_only_name_address_and_those_needing_food(vps: DemoResult) -> None:
    label = "Freshmart's priority delivery list"
    assert set(vps.releases[label].table.column_names) == {
        "given_name", "family_name", "address", "postcode"
    }  # fmt: skip
    released = _released_people(vps, label, "nhs/shielding_list")
    assert released == _shielded(vps, _scope(vps, "freshmart"))
    assert "date_of_birth" in vps.refusals["Freshmart asking for dates of birth (refused)"]


# -- homelessness prevention ----------------------------------------------------------------

RISK = "Risk table: housing applicants by eviction notice and A&E attendance"
REFERRALS = "Referrals for caseworkers: applications with an eviction notice and probation contact"


def test_analysts_get_a_disclosure_controlled_aggregate(homelessness: DemoResult) -> None:
    release = homelessness.releases[RISK]
    assert release.output == "aggregate"
    for column in ("applicants", "with_ae_attendance"):
        for value in release.table.column(column).to_pylist():
            assert value is None or (value >= 10 and value % 5 == 0)


def test_opted_out_people_are_left_out_of_planning(homelessness: DemoResult) -> None:
    people = _people(homelessness)
    opted_out = {
        p for p, o in zip(
            people.column("true_person_id").to_pylist(),
            people.column("national_opt_out").to_pylist(), strict=True
        ) if o
    }  # fmt: skip
    # The national data opt-out covers confidential patient information: every A&E record of
    # an opted-out patient is left out, found exactly by NHS number. (Accord also carries the
    # opt-out to the same person's other records through linkage, as far as linkage finds them.)
    assert not _released_people(homelessness, RISK, "nhs/ae_attendances") & opted_out


def test_caseworkers_get_referrals_and_analysts_do_not(homelessness: DemoResult) -> None:
    release = homelessness.releases[REFERRALS]
    assert release.output == "record-level"
    assert release.table.column_names == ["application_id"]
    refused = "An analyst asking for the same referrals (refused: analysts get aggregates)"
    assert refused in homelessness.refusals


def test_every_story_verifies_its_log(
    fsm: DemoResult, vps: DemoResult, homelessness: DemoResult
) -> None:
    for result in (fsm, vps, homelessness):
        assert result.audit is not None and result.audit.ok, result.story


def test_demo_homes_are_fresh(tmp_path: Path) -> None:
    # A demo never overwrites a trust that is not a demo's own.
    from typer.testing import CliRunner

    from accord.interfaces.cli.app import app

    real = tmp_path / "real"
    Trust.init(real).close()
    result = CliRunner().invoke(app, ["--home", str(real), "demo", "fsm"])
    assert result.exit_code != 0
    assert (real / "keys" / "trust.pem").exists()

"""Invalid rows: each extract carries a few rows that break its contract, and the real ingest
quarantines exactly those rows, naming the broken field."""

from __future__ import annotations

from dataclasses import dataclass

import nhs_number
import polars as pl
import pytest

from accord import Trust
from accord.synth import PopulationSummary, generate_population, get_profile

PEOPLE = 4000
SEED = 20261125


@dataclass(frozen=True)
class Ingested:
    """One extract after ingest: its ground truth and what the trust quarantined."""

    key: str
    truth: pl.DataFrame
    quarantine: pl.DataFrame
    rows_quarantined: int


@pytest.fixture(scope="module")
def medium(tmp_path_factory: pytest.TempPathFactory) -> PopulationSummary:
    # CSV, as the demos ingest it: an impossible date or a blank must survive the file format.
    out = tmp_path_factory.mktemp("medium")
    return generate_population(PEOPLE, SEED, out, errors="medium", fmt="csv")


@pytest.fixture(scope="module")
def ingested(
    medium: PopulationSummary, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Ingested]:
    trust = Trust.init(tmp_path_factory.mktemp("home"), actor="tester@accord.test")
    for member in sorted({e.member for e in medium.extracts.values()}):
        trust.catalogue.add_member(member, member.title())
    out = {}
    for ref, e in medium.extracts.items():
        dataset = ref.replace(".", "/")
        trust.catalogue.register_dataset(e.contract)
        result = trust.ingest.ingest(dataset, e.path)
        truth = pl.read_parquet(e.ground_truth)
        key = truth.columns[0]
        quarantine = pl.from_arrow(trust.ingest.quarantine(dataset))
        assert isinstance(quarantine, pl.DataFrame)
        out[ref] = Ingested(key, truth, quarantine, result.rows_quarantined)
    return out


def injected(i: Ingested) -> pl.DataFrame:
    return i.truth.filter(pl.col("invalid_field").is_not_null())


def test_every_invalid_row_and_no_other_is_quarantined(
    medium: PopulationSummary, ingested: dict[str, Ingested]
) -> None:
    for ref, i in ingested.items():
        quarantined = set(i.quarantine[i.key].to_list()) if i.rows_quarantined else set()
        assert quarantined == set(injected(i)[i.key].to_list()), ref
        assert i.rows_quarantined == medium.extracts[ref].errors["invalid"], ref


def test_quarantine_names_the_broken_field_with_a_reason(ingested: dict[str, Ingested]) -> None:
    seen = 0
    for ref, i in ingested.items():
        if not i.rows_quarantined:
            continue
        both = i.quarantine.join(injected(i), on=i.key, how="left")
        assert (both["field"] == both["invalid_field"]).all(), ref
        assert (both["reason"].str.len_chars() > 0).all(), ref
        seen += both["invalid_field"].n_unique()
    assert seen >= 10  # many fields, not always the same one


def test_invalid_rows_follow_the_profile_rate(medium: PopulationSummary) -> None:
    rows = sum(e.rows for e in medium.extracts.values())
    invalid = sum(e.errors["invalid"] for e in medium.extracts.values())
    rate = get_profile("medium").invalid
    assert rate * 0.5 <= invalid / rows <= rate * 1.5, invalid / rows
    assert get_profile("none").invalid == 0
    assert get_profile("low").invalid < rate < get_profile("high").invalid


def test_broken_values_are_the_mistakes_real_extracts_carry(
    ingested: dict[str, Ingested],
) -> None:
    rules = {r for i in ingested.values() for r in i.quarantine["rule"].to_list()}
    assert {"nhs_number", "date", "postcode", "enum", "required", "pattern"} <= rules
    q = pl.concat([i.quarantine.select("field", "rule") for i in ingested.values()])
    assert q.filter(rule="date")["field"].str.contains("date|_on$").all()


def test_a_mistyped_nhs_number_differs_only_in_its_check_digit(
    medium: PopulationSummary, ingested: dict[str, Ingested]
) -> None:
    truth = pl.read_parquet(medium.people_path).select(
        "true_person_id", pl.col("nhs_number").cast(pl.String).alias("true_number")
    )
    checked = 0
    for ref in ("nhs.gp_registrations", "nhs.ae_attendances", "nhs.national_opt_out"):
        i = ingested[ref]
        bad = injected(i).filter(invalid_field="nhs_number")
        rows = (
            i.quarantine.filter(rule="nhs_number")
            .select(pl.col(i.key).alias("k"), pl.col("nhs_number").alias("number"))
            .join(bad.select(pl.col(i.key).alias("k"), "true_person_id"), on="k")
            .join(truth, on="true_person_id")
        )
        for number, true in zip(rows["number"], rows["true_number"], strict=True):
            assert not nhs_number.is_valid(number) and nhs_number.is_valid(true)
            assert number[:9] == true[:9] and number[9] != true[9]
            checked += 1
    assert checked > 0


def test_an_impossible_date_keeps_the_extracts_format(ingested: dict[str, Ingested]) -> None:
    i = ingested["nhs.gp_registrations"]  # ISO dates
    dates = i.quarantine.filter(field="date_of_birth", rule="date")["date_of_birth"]
    assert dates.len() > 0
    assert dates.str.contains(r"^[0-9]{4}-(02-3[01]|(04|06|09|11)-31)$").all()

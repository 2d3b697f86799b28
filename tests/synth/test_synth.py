"""The synthetic population: distributions, error rates, ground truth, contracts, determinism."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import nhs_number
import polars as pl
import pytest
import yaml
from nicknames import NickNamer

from accord.synth import (
    PROFILES,
    ExtractSummary,
    PopulationSummary,
    generate_population,
    get_profile,
)
from accord.synth.geography import BOROUGHS, POSTCODE_PATTERN
from accord.synth.keys import UPN_LETTERS

PEOPLE = 4000
SEED = 20261125
EXPECTED_EXTRACTS = {
    *(
        f"{b.slug}.{d}"
        for b in BOROUGHS
        for d in ("school_census", "residents", "housing_register")
    ),
    "nhs.shielding_list",
    "nhs.gp_registrations",
    "nhs.ae_attendances",
    "nhs.national_opt_out",
    "probation.caseload",
    "freshmart.customers",
}


@pytest.fixture(scope="module")
def high(tmp_path_factory: pytest.TempPathFactory) -> PopulationSummary:
    return generate_population(PEOPLE, SEED, tmp_path_factory.mktemp("high"), errors="high")


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> PopulationSummary:
    return generate_population(PEOPLE, SEED, tmp_path_factory.mktemp("clean"), errors="none")


def people(summary: PopulationSummary) -> pl.DataFrame:
    return pl.read_parquet(summary.people_path)


def extract(summary: PopulationSummary, ref: str) -> pl.DataFrame:
    return pl.read_parquet(summary.extracts[ref].path)


def with_truth(summary: PopulationSummary, ref: str) -> pl.DataFrame:
    """Valid extract rows side by side with the true person behind each (truth columns: t_*).

    Rows made to break the contract (``invalid_field`` set) are left out: an ingest would
    quarantine them, and their broken value says nothing about the other error rates.
    """
    e = summary.extracts[ref]
    rows = pl.read_parquet(e.path)
    truth = pl.read_parquet(e.ground_truth)
    key = truth.columns[0]
    assert rows[key].to_list() == truth[key].to_list()
    t = people(summary).rename(lambda c: f"t_{c}")
    return (
        rows.with_columns(truth["true_person_id"], truth["invalid_field"])
        .filter(pl.col("invalid_field").is_null())
        .drop("invalid_field")
        .join(
            t,
            left_on="true_person_id",
            right_on="t_true_person_id",
            how="left",
            maintain_order="left",
        )
    )


def valid_rows(e: ExtractSummary) -> pl.DataFrame:
    """The rows of an extract that were not made to break its contract."""
    valid = pl.read_parquet(e.ground_truth)["invalid_field"].is_null()
    return pl.read_parquet(e.path).filter(valid)


def tree_hashes(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# --- layout, ground truth, leaks ------------------------------------------------------------


def test_layout_and_manifest(high: PopulationSummary) -> None:
    out = high.out
    assert set(high.extracts) == EXPECTED_EXTRACTS
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == SEED and manifest["people"] == PEOPLE
    assert manifest["errors"] == "high"
    for ref, e in high.extracts.items():
        member, dataset = ref.split(".")
        assert e.path == out / "extracts" / member / f"{dataset}.parquet"
        assert e.contract == out / "contracts" / member / f"{dataset}.yaml"
        assert e.ground_truth == out / "ground_truth" / member / f"{dataset}.parquet"
        assert pl.read_parquet(e.path).height == e.rows == manifest["extracts"][ref]["rows"]
        assert manifest["extracts"][ref]["errors"] == e.errors
        assert e.rows > 0, ref
    assert people(high).height == PEOPLE


def test_ground_truth_complete_and_consistent(high: PopulationSummary) -> None:
    truth_ids = set(people(high)["true_person_id"].to_list())
    for ref, e in high.extracts.items():
        contract = yaml.safe_load(e.contract.read_text())
        key = contract["schema"]["primaryKey"]
        rows = pl.read_parquet(e.path)
        gt = pl.read_parquet(e.ground_truth)
        assert gt.columns == [key, "true_person_id", "invalid_field"], ref
        assert gt.height == rows.height, ref
        # Rows made to break the contract are still there, each naming its broken field.
        broken = gt["invalid_field"].drop_nulls()
        assert broken.len() == e.errors["invalid"], ref
        assert set(broken.to_list()) <= set(rows.columns) - {"true_person_id"}, ref
        assert gt[key].null_count() == 0 and gt["true_person_id"].null_count() == 0, ref
        assert gt[key].n_unique() == gt.height, f"{ref}: keys are not unique"
        assert rows[key].to_list() == gt[key].to_list(), ref
        assert set(gt["true_person_id"].to_list()) <= truth_ids, ref
        if not contract["may_hold_duplicates"]:
            assert gt["true_person_id"].n_unique() == gt.height, f"{ref} holds a person twice"


def test_no_extract_leaks_true_person_id(high: PopulationSummary) -> None:
    truth_ids = set(people(high)["true_person_id"].to_list())
    for ref, e in high.extracts.items():
        rows = pl.read_parquet(e.path)
        assert "true_person_id" not in rows.columns, ref
        for column in rows.columns:
            values = set(rows[column].cast(pl.String).drop_nulls().to_list())
            assert not values & truth_ids, f"{ref}.{column} holds true person ids"


# --- the population -------------------------------------------------------------------------


def test_age_pyramid_sex_and_households(high: PopulationSummary) -> None:
    p = people(high)
    under_18 = (p["age"] < 18).mean()
    over_65 = (p["age"] >= 65).mean()
    assert 0.18 <= under_18 <= 0.30  # London: about 22%
    assert 0.08 <= over_65 <= 0.18  # inner London: about 10-12%
    assert p["age"].min() >= 0 and p["age"].max() <= 100
    assert 0.46 <= (p["sex"] == "F").mean() <= 0.56
    sizes = p.group_by("household_id").len()["len"]
    assert 2.0 <= sizes.mean() <= 2.9
    # Each household lives at one address, and each address is one household's.
    per_household = p.group_by("household_id").agg(pl.col("uprn").n_unique())
    assert per_household["uprn"].max() == 1
    assert p.select("household_id", "uprn").unique()["uprn"].is_duplicated().sum() == 0
    assert p["uprn"].str.contains(r"^[0-9]{12}$").all()


def test_names_follow_a_realistic_frequency(high: PopulationSummary) -> None:
    p = people(high)
    for column, top_share, spread in (("given_name", 0.008, 6), ("family_name", 0.015, 15)):
        counts = p[column].value_counts(sort=True)["count"]
        assert counts.len() >= 200, column  # a long tail of names
        assert counts[0] / p.height >= top_share, column  # common names are common
        assert counts[0] >= spread * counts.median(), column  # ... and rare ones rare
    assert (p["family_name"] == "Smith").sum() > (p["family_name"] == "Postlethwaite").sum()


def test_postcodes_are_well_formed_and_in_their_borough(high: PopulationSummary) -> None:
    p = people(high)
    assert p["postcode"].str.contains(POSTCODE_PATTERN).all()
    for b in BOROUGHS:
        outward = p.filter(pl.col("borough") == b.slug)["postcode"].str.split(" ").list.first()
        assert set(outward.to_list()) <= set(b.outward_codes), b.slug


def test_nhs_numbers_are_valid_and_unique(high: PopulationSummary) -> None:
    numbers = people(high)["nhs_number"].cast(pl.String)
    assert numbers.n_unique() == PEOPLE
    assert all(nhs_number.is_valid(n) for n in numbers.to_list())
    for ref in ("nhs.gp_registrations", "nhs.shielding_list", "nhs.ae_attendances"):
        rows = with_truth(high, ref).drop_nulls("nhs_number")
        assert all(nhs_number.is_valid(n) for n in rows["nhs_number"].to_list())
        assert (rows["nhs_number"] == rows["t_nhs_number"].cast(pl.String)).all(), ref


def test_schooling_fsm_and_cross_borough(high: PopulationSummary) -> None:
    p = people(high)
    pupils = p.filter("pupil")
    assert 0.12 <= pupils.height / p.height <= 0.20
    assert 0.15 <= pupils["fsm_eligible"].mean() <= 0.26  # ~20% of pupils
    cross = (pupils["school_borough"] != pupils["borough"]).mean()
    assert 0.18 <= cross <= 0.32  # 20-30% go to school in a neighbouring borough
    # FSM is a household matter: siblings agree.
    siblings = pupils.group_by("household_id").agg(pl.col("fsm_eligible").n_unique(), pl.len())
    assert siblings.filter(pl.col("len") > 1)["fsm_eligible"].max() == 1
    assert not p.filter(~pl.col("pupil"))["fsm_eligible"].any()
    # Each borough's census lists the pupils at its schools, some living elsewhere.
    total = 0
    for b in BOROUGHS:
        rows = with_truth(high, f"{b.slug}.school_census")
        total += high.extracts[f"{b.slug}.school_census"].rows
        assert (rows["t_school_borough"] == b.slug).all()
        assert (rows["t_borough"] != b.slug).sum() > 0, b.slug
    assert total == pupils.height


def test_upns_have_valid_check_letters(high: PopulationSummary) -> None:
    for b in BOROUGHS:
        upns = extract(high, f"{b.slug}.school_census")["pupil_id"].to_list()
        for upn in upns:
            assert upn[1:4] == b.la_code
            check = sum(int(c) * w for c, w in zip(upn[1:], range(2, 14), strict=True)) % 23
            assert upn[0] == UPN_LETTERS[check]


def test_health_justice_housing_and_opt_out_rates(high: PopulationSummary) -> None:
    p = people(high)
    assert 0.03 <= p["shielding"].mean() <= 0.055  # ~4%
    old, young = p.filter(pl.col("age") >= 70), p.filter(pl.col("age") < 50)
    assert old["shielding"].mean() > 3 * young["shielding"].mean()
    shielded = p.filter("shielding")
    assert 0.1 <= shielded["needs_food_support"].mean() <= 0.5
    assert 0.04 <= p["national_opt_out"].mean() <= 0.06  # ~5%
    assert 0.001 <= p["on_probation"].mean() <= 0.01
    assert 0.2 <= p["ae_attendances"].mean() <= 0.6
    assert p.filter("eviction_notice")["on_housing_register"].all()
    # Need is concentrated in low-income households.
    low = p.filter("low_income_household")
    rest = p.filter(~pl.col("low_income_household"))
    assert low["on_housing_register"].mean() > 2 * rest["on_housing_register"].mean()
    assert extract(high, "nhs.national_opt_out").height == p["national_opt_out"].sum()
    assert extract(high, "nhs.shielding_list").height == p["shielding"].sum()
    caseload = extract(high, "probation.caseload")
    assert caseload["address"].is_in(["No Fixed Abode"]).sum() >= 0


# --- errors ---------------------------------------------------------------------------------


def test_profiles_are_a_documented_registry() -> None:
    assert set(PROFILES) == {"none", "low", "medium", "high"}
    low, medium, high = (get_profile(n).as_dict() for n in ("low", "medium", "high"))
    for kind in low:
        assert 0 < low[kind] <= medium[kind] <= high[kind] < 1, kind
    assert set(get_profile("none").as_dict().values()) == {0}
    with pytest.raises(ValueError, match="unknown error profile"):
        get_profile("extreme")


def nhs_rows(summary: PopulationSummary) -> pl.DataFrame:
    """GP, A&E and opt-out rows with their truth, names compared case-blind."""
    frames = []
    for ref in ("nhs.gp_registrations", "nhs.ae_attendances", "nhs.national_opt_out"):
        frames.append(
            with_truth(summary, ref)
            .select(
                "given_name",
                "family_name",
                "date_of_birth",
                "t_given_name",
                "t_family_name",
                "t_previous_family_name",
                "t_date_of_birth",
            )
            .with_columns(
                pl.col("date_of_birth").str.replace_all("-", ""),
            )
        )
    rows = pl.concat(frames)
    return rows.with_columns(
        g=pl.col("given_name").str.to_lowercase(),
        f=pl.col("family_name").str.to_lowercase(),
        tg=pl.col("t_given_name").str.to_lowercase(),
        tf=pl.col("t_family_name").str.to_lowercase(),
        dob=pl.col("date_of_birth").str.to_date("%Y%m%d"),
    )


def between(value: float, rate: float, low: float = 0.5, high: float = 1.5) -> bool:
    return rate * low <= value <= rate * high


def test_error_rates_match_the_profile(high: PopulationSummary) -> None:
    rates = get_profile("high")
    rows = nhs_rows(high)
    n = rows.height
    swapped = (rows["g"] == rows["tf"]) & (rows["f"] == rows["tg"]) & (rows["tg"] != rows["tf"])
    assert between(swapped.mean(), rates.swap_names), swapped.mean()
    # Day and month swapped, where that gives another valid date.
    t = rows["t_date_of_birth"]
    eligible = (t.dt.day() <= 12) & (t.dt.day() != t.dt.month())
    d = rows["dob"]
    swapped_dob = (d.dt.day() == t.dt.month()) & (d.dt.month() == t.dt.day())
    swapped_dob = (swapped_dob & (d.dt.year() == t.dt.year())).fill_null(False)
    assert between((swapped_dob & eligible).sum() / eligible.sum(), rates.transpose_dob)
    # Nicknames from the curated list (Bill for William), among names that have one.
    namer = NickNamer()
    has_nick = rows["tg"].map_elements(lambda g: bool(namer.nicknames_of(g)), pl.Boolean)
    is_nick = pl.Series(
        [g in namer.nicknames_of(t) for g, t in zip(rows["g"], rows["tg"], strict=True)]
    )
    share = (is_nick & has_nick).sum() / has_nick.sum()
    assert between(share, rates.nickname, 0.6, 1.1), share
    # Typos: a one-character slip away from the truth.
    assert rows["g"].ne_missing(rows["tg"]).sum() > rates.typo * n * 0.5
    # Married names: held under the previous family name.
    married = rows.filter(pl.col("t_previous_family_name").is_not_null())
    held_old = (married["f"] == married["t_previous_family_name"].str.to_lowercase()).mean()
    assert between(held_old, rates.marriage_name, 0.8, 1.1), held_old
    # The summary's counts agree with the rates too.
    gp = high.extracts["nhs.gp_registrations"]
    assert between(gp.errors["swap_names"] / gp.rows, rates.swap_names)
    assert between(gp.errors["duplicate"] / gp.rows, rates.duplicate)


def test_duplicates_only_where_the_contract_allows(high: PopulationSummary) -> None:
    rates = get_profile("high")
    gp = with_truth(high, "nhs.gp_registrations")
    extra = gp.height / gp["true_person_id"].n_unique() - 1
    assert between(extra, rates.duplicate), extra
    for ref, e in high.extracts.items():
        contract = yaml.safe_load(e.contract.read_text())
        assert ("duplicate" in e.errors) == contract["may_hold_duplicates"], ref


def test_old_addresses_missing_fields_and_postcode_typos(high: PopulationSummary) -> None:
    rates = get_profile("high")
    gp = with_truth(high, "nhs.gp_registrations")
    movers = gp.filter(pl.col("t_prev_postcode").is_not_null() & pl.col("postcode").is_not_null())
    old = (movers["address"] == movers["t_prev_address"]).mean()
    assert between(old, rates.old_address, 0.8, 1.2), old
    assert between(gp["sex"].null_count() / gp.height, rates.missing)
    settled = gp.filter(pl.col("t_prev_postcode").is_null() & pl.col("postcode").is_not_null())
    wrong = (settled["postcode"] != settled["t_postcode"]).mean()
    assert between(wrong, rates.postcode_typo), wrong
    assert gp["postcode"].drop_nulls().str.contains(POSTCODE_PATTERN).all()
    # Council tax records rarely hold a date of birth.
    residents = extract(high, "camden.residents")
    assert 0.35 <= residents["date_of_birth"].null_count() / residents.height <= 0.6


def test_clean_profile_holds_the_truth(clean: PopulationSummary) -> None:
    for e in clean.extracts.values():
        assert pl.read_parquet(e.ground_truth)["invalid_field"].null_count() == e.rows
    rows = nhs_rows(clean)
    assert (rows["g"] == rows["tg"]).all() and (rows["f"] == rows["tf"]).all()
    assert all(v == 0 for e in clean.extracts.values() for v in e.errors.values())


# --- contracts ------------------------------------------------------------------------------


def check_contract(path: Path, rows: pl.DataFrame) -> list[str]:
    """Problems of ``rows`` against the contract at ``path``: required/unique/enum/pattern..."""
    contract = yaml.safe_load(path.read_text())
    schema = contract["schema"]
    problems = []
    assert [f["name"] for f in schema["fields"]] == rows.columns
    key = schema["primaryKey"]
    if rows[key].is_duplicated().any():
        problems.append(f"primary key {key} repeats")
    for field in schema["fields"]:
        col = rows[field["name"]]
        c = field.get("constraints", {})
        name = field["name"]
        if c.get("required") and col.null_count():
            problems.append(f"{name}: {col.null_count()} blank")
        values = col.drop_nulls()
        if c.get("unique") and values.is_duplicated().any():
            problems.append(f"{name}: not unique")
        if "enum" in c and not values.is_in(c["enum"]).all():
            problems.append(f"{name}: outside enum")
        if "pattern" in c and not values.str.contains(c["pattern"]).all():
            problems.append(f"{name}: breaks pattern")
        if field["type"] == "date":
            parsed = values.str.to_date(field.get("format", "%Y-%m-%d"), strict=False)
            if parsed.null_count():
                problems.append(f"{name}: not a date in {field.get('format')}")
        if field["type"] == "boolean" and "trueValues" in field:
            if not values.is_in(field["trueValues"] + field["falseValues"]).all():
                problems.append(f"{name}: not a declared boolean value")
        elif field["type"] == "boolean":
            assert values.dtype == pl.Boolean
    return problems


@pytest.mark.parametrize("which", ["clean", "high"])
def test_contracts_hold_for_every_row_not_made_invalid(
    which: str, request: pytest.FixtureRequest
) -> None:
    summary: PopulationSummary = request.getfixturevalue(which)
    for ref, e in summary.extracts.items():
        assert check_contract(e.contract, valid_rows(e)) == [], ref
        contract = yaml.safe_load(e.contract.read_text())
        member, dataset = ref.split(".")
        assert (contract["owner"], contract["name"]) == (member, dataset)


def test_contracts_are_accepted_by_the_catalogue(clean: PopulationSummary) -> None:
    import accord.catalogue.contract as catalogue

    for ref, e in clean.extracts.items():
        contract = catalogue.load_contract(e.contract)
        assert contract.ref == ref.replace(".", "/")
        assert "true_person_id" not in contract.field_names()


def test_shielding_list_names_the_council_of_the_current_address(high: PopulationSummary) -> None:
    rows = with_truth(high, "nhs.shielding_list")
    assert (rows["local_authority"] == rows["t_borough"]).all()
    # Where the NHS holds an old address in another borough, the council is still the current one.
    stale = rows.filter(pl.col("address") == pl.col("t_prev_address"))
    assert (stale["local_authority"] != stale["t_prev_borough"]).any()
    fields = yaml.safe_load(high.extracts["nhs.shielding_list"].contract.read_text())["schema"]
    field = next(f for f in fields["fields"] if f["name"] == "local_authority")
    assert field["constraints"] == {"enum": [b.slug for b in BOROUGHS]}
    assert field["accord"] == {"category": "personal"}


def test_special_category_fields_are_marked(clean: PopulationSummary) -> None:
    special = {}
    for ref, e in clean.extracts.items():
        fields = yaml.safe_load(e.contract.read_text())["schema"]["fields"]
        special[ref] = {f["name"] for f in fields if f["accord"]["category"] == "special-category"}
    assert "offence_group" in special["probation.caseload"]
    assert "clinical_group" in special["nhs.shielding_list"]
    assert "arrived_on" in special["nhs.ae_attendances"]
    assert not special["freshmart.customers"]


# --- determinism, formats, chunks -----------------------------------------------------------


def test_same_seed_same_bytes_different_seed_differs(tmp_path: Path) -> None:
    a = generate_population(600, 7, tmp_path / "a", errors="medium")
    b = generate_population(600, 7, tmp_path / "b", errors="medium")
    c = generate_population(600, 8, tmp_path / "c", errors="medium")
    ha, hb, hc = tree_hashes(a.out), tree_hashes(b.out), tree_hashes(c.out)
    assert len(ha) == 1 + 1 + 3 * len(EXPECTED_EXTRACTS)
    assert ha == hb
    assert ha["people.parquet"] != hc["people.parquet"]
    assert (
        ha["extracts/nhs/gp_registrations.parquet"] != hc["extracts/nhs/gp_registrations.parquet"]
    )


def test_chunked_generation_is_consistent(tmp_path: Path) -> None:
    one = generate_population(1200, 3, tmp_path / "one", chunk_size=600)
    whole = pl.read_parquet(generate_population(1200, 3, tmp_path / "whole").people_path)
    p = pl.read_parquet(one.people_path)
    assert p.height == whole.height and p.columns == whole.columns
    assert p["true_person_id"].n_unique() == p["nhs_number"].n_unique() == 1200
    assert p.select("household_id", "uprn").unique()["uprn"].is_duplicated().sum() == 0
    for e in one.extracts.values():
        gt = pl.read_parquet(e.ground_truth)
        assert gt[gt.columns[0]].n_unique() == gt.height == e.rows


def test_csv_format_holds_the_same_rows(tmp_path: Path) -> None:
    as_parquet = generate_population(1000, 11, tmp_path / "p", errors="low", fmt="parquet")
    as_csv = generate_population(1000, 11, tmp_path / "c", errors="low", fmt="csv")
    for ref, e in as_csv.extracts.items():
        assert e.path.suffix == ".csv"
        rows = pl.read_csv(e.path, infer_schema=False)
        other = pl.read_parquet(as_parquet.extracts[ref].path)
        assert rows.columns == other.columns, ref
        assert rows.height == other.height, ref
        expected = other.with_columns(pl.col(pl.Boolean).cast(pl.String))
        assert rows.equals(expected), ref
    assert (
        tree_hashes(as_csv.out)["people.parquet"] == tree_hashes(as_parquet.out)["people.parquet"]
    )


@pytest.mark.parametrize("size", [1, 3])
def test_tiny_populations_still_write_every_file(tmp_path: Path, size: int) -> None:
    summary = generate_population(size, 1, tmp_path, errors="high")
    assert pl.read_parquet(summary.people_path).height == size
    for e in summary.extracts.values():
        rows = pl.read_parquet(e.path)
        assert rows.height == e.rows == pl.read_parquet(e.ground_truth).height
        assert rows.columns == [
            f["name"] for f in yaml.safe_load(e.contract.read_text())["schema"]["fields"]
        ]


def test_rejects_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="format"):
        generate_population(10, 1, tmp_path, fmt="xlsx")
    with pytest.raises(ValueError, match="profile"):
        generate_population(10, 1, tmp_path, errors="terrible")
    with pytest.raises(ValueError, match="at least 1"):
        generate_population(0, 1, tmp_path)
    with pytest.raises(ValueError, match="seed"):
        generate_population(10, -1, tmp_path)


def test_cli_population_prints_a_summary(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from accord.interfaces.cli.synth import app

    result = CliRunner().invoke(
        app,
        [
            "population",
            "--people",
            "800",
            "--seed",
            "5",
            "--out",
            str(tmp_path / "o"),
            "--errors",
            "low",
            "--format",
            "csv",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "nhs.gp_registrations" in result.output
    assert (tmp_path / "o" / "extracts" / "nhs" / "gp_registrations.csv").exists()
    bad = CliRunner().invoke(
        app,
        ["population", "--people", "10", "--seed", "5", "--out", str(tmp_path), "--errors", "x"],
    )
    assert bad.exit_code != 0

"""How each organisation sees the population: one spec per extract (member.dataset).

A spec says which true people an organisation holds (``select``), which errors its copy can
carry, and how it writes each column (``Column.expr``: casing, date format, codes). The same
spec produces the extract, its contract and its ground truth, so they always agree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from accord.synth.errors import ERROR_KINDS
from accord.synth.geography import BOROUGH_SLUGS, BOROUGHS, POSTCODE_PATTERN, Borough
from accord.synth.keys import affine, derive, scrambled_ids, upns
from accord.synth.population import (
    CLINICAL_GROUPS,
    OFFENCE_GROUPS,
    REFERENCE_DATE,
    YEAR_GROUPS,
)

_REF = np.datetime64(REFERENCE_DATE.isoformat(), "D")

PERSON = (
    "true_person_id",
    "given_name",
    "given_code",
    "family_name",
    "previous_family_name",
    "date_of_birth",
    "sex",
)
ADDRESS = (
    "address",
    "postcode",
    "uprn",
    "borough",
    "moved",
    "prev_address",
    "prev_postcode",
    "prev_uprn",
    "prev_borough",
)
ALL_ERRORS = frozenset(ERROR_KINDS)
NHS_PATTERN = r"^[0-9]{10}$"
UPRN_PATTERN = r"^[0-9]{12}$"
EMAIL_PATTERN = r"^[a-z0-9._]+@[a-z0-9.-]+\.[a-z]{2,}$"
PHONE_PATTERN = r"^07[0-9]{3} [0-9]{6}$"


@dataclass(frozen=True)
class Column:
    """One column of an extract: how it is written and what its contract says about it."""

    name: str
    expr: pl.Expr
    type: str = "string"
    description: str = ""
    category: str = "personal"
    role: str | None = None
    required: bool = False
    unique: bool = False
    enum: tuple[str, ...] | None = None
    pattern: str | None = None
    format: str | None = None  # strftime-style date format; None = ISO yyyy-mm-dd
    true_values: tuple[str, ...] | None = None
    false_values: tuple[str, ...] | None = None
    # A code outside ``enum`` that real sources write by mistake (for invalid rows only).
    stray: str | None = None


@dataclass(frozen=True)
class ExtractSpec:
    """An organisation's extract: who is in it, its columns, its errors, its contract keys."""

    member: str
    dataset: str
    title: str
    description: str
    update_frequency: str
    freshness_sla_days: int
    may_hold_duplicates: bool
    primary_key: str
    columns: tuple[Column, ...]
    select: Callable[[pl.DataFrame, np.random.Generator, int], pl.DataFrame]
    # Row numbers and a salt to the key column; None when the key is a real identifier.
    make_ids: Callable[[np.ndarray, int], pl.Series] | None
    kinds: frozenset[str] = ALL_ERRORS
    missable: tuple[str, ...] = ()
    address_columns: tuple[str, ...] = ("address", "postcode", "uprn", "borough")
    notes: tuple[str, ...] = field(default=())

    @property
    def ref(self) -> str:
        """``member.dataset``."""
        return f"{self.member}.{self.dataset}"

    @property
    def error_kinds(self) -> frozenset[str]:
        """The errors this extract can carry (duplicates only if the contract allows them)."""
        return self.kinds if self.may_hold_duplicates else self.kinds - {"duplicate"}

    def render(self, rows: pl.DataFrame) -> pl.DataFrame:
        """Write canonical rows (with ``_id``) in this organisation's columns and conventions."""
        return rows.select([c.expr.alias(c.name) for c in self.columns])


# --- rendering helpers --------------------------------------------------------------------


def _date(col: str, fmt: str | None) -> pl.Expr:
    return pl.col(col).dt.strftime(fmt or "%Y-%m-%d")


def _flag(col: str, yes: str, no: str) -> pl.Expr:
    return pl.when(pl.col(col)).then(pl.lit(yes)).otherwise(pl.lit(no))


def _sex(yes_f: str, yes_m: str) -> pl.Expr:
    return (
        pl.when(pl.col("sex") == "F")
        .then(pl.lit(yes_f))
        .when(pl.col("sex") == "M")
        .then(pl.lit(yes_m))
    )


def _upper(col: str) -> pl.Expr:
    return pl.col(col).str.to_uppercase()


def _nhs() -> pl.Expr:
    return pl.col("nhs_number").cast(pl.String)


def _ids(width: int, prefix: str) -> Callable[[np.ndarray, int], pl.Series]:
    return lambda rows, salt: scrambled_ids(rows, width, salt, prefix)


def _person(t: pl.DataFrame, where: pl.Expr, *extra: str) -> pl.DataFrame:
    # Lazy, so only the needed columns of the wide truth frame are filtered and copied.
    return t.lazy().filter(where).select(*PERSON, *ADDRESS, *extra).collect()


def _column_date(name: str, fmt: str | None, source: str = "date_of_birth", **kw: object) -> Column:
    return Column(name, _date(source, fmt), type="date", format=fmt, **kw)  # type: ignore[arg-type]


def _dob(fmt: str | None, required: bool = False) -> Column:
    return _column_date(
        "date_of_birth", fmt, description="Date of birth", role="date_of_birth", required=required
    )


def _given(name: str = "given_name", upper: bool = False, required: bool = True) -> Column:
    expr = _upper("given_name") if upper else pl.col("given_name")
    return Column(
        name, expr, description="Given (first) name", role="given_name", required=required
    )


def _family(name: str = "family_name", upper: bool = False, required: bool = True) -> Column:
    expr = _upper("family_name") if upper else pl.col("family_name")
    return Column(
        name, expr, description="Family name (surname)", role="family_name", required=required
    )


def _postcode(name: str = "postcode", required: bool = False) -> Column:
    return Column(
        name,
        pl.col("postcode"),
        description="Postcode of the address",
        role="postcode",
        pattern=POSTCODE_PATTERN,
        required=required,
    )


def _address(name: str = "address", upper: bool = False, required: bool = False) -> Column:
    expr = _upper("address") if upper else pl.col("address")
    return Column(
        name, expr, description="First line of the address", role="address", required=required
    )


def _uprn(required: bool = False) -> Column:
    return Column(
        "uprn",
        pl.col("uprn"),
        description="Unique Property Reference Number",
        role="uprn",
        pattern=UPRN_PATTERN,
        required=required,
    )


def _nhs_column(unique: bool, required: bool = True) -> Column:
    return Column(
        "nhs_number",
        _nhs(),
        description="NHS number (10 digits, mod-11 checked)",
        role="nhs_number",
        pattern=NHS_PATTERN,
        unique=unique,
        required=required,
    )


def _key(name: str, pattern: str, description: str) -> Column:
    return Column(
        name,
        pl.col("_id"),
        description=description,
        category="none",
        role="record_id",
        required=True,
        unique=True,
        pattern=pattern,
    )


# --- council extracts -----------------------------------------------------------------------


def school_census(b: Borough) -> ExtractSpec:
    """``<borough>.school_census``: pupils on roll at the borough's schools (any home borough)."""

    def select(t: pl.DataFrame, rng: np.random.Generator, seed: int) -> pl.DataFrame:
        where = pl.col("pupil") & (pl.col("school_borough") == b.slug)
        return _person(t, where, "school_urn", "school_name", "year_group", "fsm_eligible")

    return ExtractSpec(
        member=b.slug,
        dataset="school_census",
        title=f"{b.name} school census, autumn term 2026",
        description=f"One row per pupil on roll at a {b.name} state school on census day; "
        "pupils may live in another borough.",
        update_frequency="termly",
        freshness_sla_days=120,
        may_hold_duplicates=False,
        primary_key="pupil_id",
        columns=(
            _key("pupil_id", r"^[A-Z][0-9]{12}$", "Unique Pupil Number (UPN)"),
            _given(),
            _family(),
            _dob("%d/%m/%Y", required=True),
            Column(
                "sex",
                pl.col("sex"),
                description="Sex (M/F)",
                role="sex",
                required=True,
                enum=("M", "F"),
                stray="U",
            ),
            _address("home_address"),
            _postcode("home_postcode"),
            Column(
                "home_borough",
                pl.col("borough"),
                description="Borough of the home address",
                enum=BOROUGH_SLUGS,
                stray="barnet",
            ),
            Column(
                "school_urn",
                pl.col("school_urn"),
                category="none",
                required=True,
                description="Unique Reference Number of the school",
                pattern=r"^[0-9]{6}$",
            ),
            Column(
                "school_name",
                pl.col("school_name"),
                category="none",
                required=True,
                description="Name of the school",
            ),
            Column(
                "year_group",
                pl.col("year_group"),
                category="none",
                required=True,
                description="National curriculum year (R = Reception)",
                enum=YEAR_GROUPS,
                stray="N2",  # a nursery class, which the census of schools does not count
            ),
            Column(
                "fsm_eligible",
                _flag("fsm_eligible", "Y", "N"),
                type="boolean",
                description="Eligible for free school meals",
                required=True,
                true_values=("Y",),
                false_values=("N",),
            ),
        ),
        select=select,
        make_ids=lambda rows, salt: upns(b.la_code, _scramble(rows, 10**9, salt)),
        missable=("address", "postcode"),
    )


def residents(b: Borough) -> ExtractSpec:
    """``<borough>.residents``: the council's register of residents (council tax and more)."""

    def select(t: pl.DataFrame, rng: np.random.Generator, seed: int) -> pl.DataFrame:
        rows = _person(
            t, pl.col("on_residents_register") & (pl.col("borough") == b.slug), "household_id"
        )
        # Council tax records rarely hold a date of birth: blank for ~45% by convention.
        known = pl.Series(rng.random(rows.height) >= 0.45)
        salt = derive(seed, "household", b.slug)
        household = scrambled_ids(rows["household_id"].to_numpy(), 9, salt, "H")
        return rows.with_columns(
            date_of_birth=pl.when(known).then("date_of_birth"), household_ref=household
        )

    return ExtractSpec(
        member=b.slug,
        dataset="residents",
        title=f"{b.name} residents register",
        description=f"People the council knows to live in {b.name} (council tax, electoral "
        "and service records merged), one row per resident at their current address.",
        update_frequency="monthly",
        freshness_sla_days=45,
        may_hold_duplicates=False,
        primary_key="resident_id",
        columns=(
            _key("resident_id", r"^R[0-9]{9}$", "Resident record id"),
            _given(upper=True),
            _family(upper=True),
            _dob(None),
            _address(upper=True, required=True),
            _postcode(required=True),
            _uprn(required=True),
            Column(
                "household_id",
                pl.col("household_ref"),
                category="none",
                required=True,
                description="Council's household (property account) reference",
                pattern=r"^H[0-9]{9}$",
            ),
        ),
        select=select,
        make_ids=_ids(9, "R"),
        kinds=ALL_ERRORS - {"old_address"},  # the register is kept at the current address
        missable=("date_of_birth",),
    )


def housing_register(b: Borough) -> ExtractSpec:
    """``<borough>.housing_register``: housing applications, with eviction and TA flags."""

    def select(t: pl.DataFrame, rng: np.random.Generator, seed: int) -> pl.DataFrame:
        where = (
            pl.col("on_housing_register")
            & (pl.col("household_role") == "head")
            & (pl.col("borough") == b.slug)
        )
        return _person(
            t, where, "eviction_notice", "temporary_accommodation", "housing_registered_on"
        )

    return ExtractSpec(
        member=b.slug,
        dataset="housing_register",
        title=f"{b.name} housing register",
        description="One row per housing application (lead applicant), with eviction notices "
        "and temporary accommodation; re-applications can duplicate a person.",
        update_frequency="weekly",
        freshness_sla_days=14,
        may_hold_duplicates=True,
        primary_key="application_id",
        columns=(
            _key("application_id", r"^HA[0-9]{8}$", "Housing application id"),
            _given(),
            _family(),
            _dob("%d-%m-%Y"),
            _address(required=True),
            _postcode(),
            _uprn(),
            Column(
                "eviction_notice",
                pl.col("eviction_notice"),
                type="boolean",
                required=True,
                description="Household has been served an eviction notice",
            ),
            Column(
                "temporary_accommodation",
                pl.col("temporary_accommodation"),
                type="boolean",
                required=True,
                description="Household is placed in temporary accommodation",
            ),
            _column_date(
                "registered_on",
                "%d-%m-%Y",
                "housing_registered_on",
                description="Date the application was registered",
                category="none",
                required=True,
            ),
        ),
        select=select,
        make_ids=_ids(8, "HA"),
        kinds=ALL_ERRORS - {"old_address"},
        missable=("date_of_birth", "uprn"),
    )


# --- NHS extracts ---------------------------------------------------------------------------


def shielding_list() -> ExtractSpec:
    """``nhs.shielding_list``: the clinically extremely vulnerable (shielded patients) list."""

    def select(t: pl.DataFrame, rng: np.random.Generator, seed: int) -> pl.DataFrame:
        rows = _person(
            t,
            pl.col("shielding"),
            "nhs_number",
            "gp_practice",
            "clinical_group",
            "needs_food_support",
        )
        # The list names the council of the patient's current address, even where the NHS
        # still holds an old address (errors change the address columns, not this one).
        return rows.with_columns(local_authority=pl.col("borough"))

    return ExtractSpec(
        member="nhs",
        dataset="shielding_list",
        title="Shielded Patient List (clinically extremely vulnerable)",
        description="Patients identified as clinically extremely vulnerable; being on the list "
        "reveals a serious health condition, so the whole list is health data.",
        update_frequency="weekly",
        freshness_sla_days=14,
        may_hold_duplicates=False,
        primary_key="nhs_number",
        columns=(
            _nhs_column(unique=True),
            _given(),
            _family(upper=True),
            _dob("%d/%m/%Y", required=True),
            Column(
                "sex",
                _sex("Female", "Male"),
                description="Sex",
                role="sex",
                enum=("Female", "Male"),
                stray="Unknown",
            ),
            _address(),
            _postcode(),
            Column(
                "local_authority",
                pl.col("local_authority"),
                description="Local authority (borough) of the patient's current address",
                enum=BOROUGH_SLUGS,
            ),
            Column(
                "gp_practice",
                pl.col("gp_practice"),
                category="none",
                description="ODS code of the registered GP practice",
                pattern=r"^[A-Z][0-9]{5}$",
            ),
            Column(
                "clinical_group",
                pl.col("clinical_group"),
                category="special-category",
                required=True,
                enum=CLINICAL_GROUPS,
                stray="unknown",
                description="Clinical reason for being on the list",
            ),
            Column(
                "needs_food_support",
                _flag("needs_food_support", "Y", "N"),
                type="boolean",
                category="special-category",
                required=True,
                description="Patient has said they need help getting food",
                true_values=("Y",),
                false_values=("N",),
            ),
        ),
        select=select,
        make_ids=None,  # the key is the NHS number
        missable=("sex", "address", "postcode"),
    )


def gp_registrations() -> ExtractSpec:
    """``nhs.gp_registrations``: registrations with GP practices in the four boroughs."""

    def select(t: pl.DataFrame, rng: np.random.Generator, seed: int) -> pl.DataFrame:
        return _person(
            t, pl.col("gp_practice").is_not_null(), "nhs_number", "gp_practice", "gp_registered_on"
        )

    return ExtractSpec(
        member="nhs",
        dataset="gp_registrations",
        title="GP registrations, north London practices",
        description="One row per registration with a GP practice; a person who moved may stay "
        "registered at an old address, or be registered twice.",
        update_frequency="monthly",
        freshness_sla_days=45,
        may_hold_duplicates=True,
        primary_key="registration_id",
        columns=(
            _key("registration_id", r"^GP[0-9]{10}$", "Registration id"),
            _nhs_column(unique=False),
            _given(),
            _family(upper=True),
            _dob(None, required=True),
            Column(
                "sex",
                _sex("2", "1"),
                description="Sex (NHS code: 1 male, 2 female)",
                role="sex",
                enum=("1", "2"),
                stray="9",  # the NHS code for "not specified"
            ),
            _address(),
            _postcode(),
            Column(
                "practice_code",
                pl.col("gp_practice"),
                category="none",
                required=True,
                description="ODS code of the GP practice",
                pattern=r"^[A-Z][0-9]{5}$",
            ),
            _column_date(
                "registered_on",
                None,
                "gp_registered_on",
                category="none",
                required=True,
                description="Date of registration with the practice",
            ),
        ),
        select=select,
        make_ids=_ids(10, "GP"),
        missable=("sex", "address", "postcode"),
    )


def ae_attendances() -> ExtractSpec:
    """``nhs.ae_attendances``: emergency department attendances in the last year."""

    def select(t: pl.DataFrame, rng: np.random.Generator, seed: int) -> pl.DataFrame:
        people = _person(t, pl.col("ae_attendances") > 0, "nhs_number", "ae_attendances")
        rows = people[np.repeat(np.arange(people.height), people["ae_attendances"].to_numpy())]
        arrived = _REF - rng.integers(1, 366, rows.height).astype("timedelta64[D]")
        # Some patients arrive unidentified: their NHS number is never traced (by convention).
        traced = pl.Series(rng.random(rows.height) >= 0.03)
        return rows.with_columns(
            arrived_on=pl.Series(arrived), nhs_number=pl.when(traced).then("nhs_number")
        )

    return ExtractSpec(
        member="nhs",
        dataset="ae_attendances",
        title="A&E attendances, last 12 months",
        description="One row per attendance at an emergency department; the same patient "
        "appears once per visit.",
        update_frequency="daily",
        freshness_sla_days=3,
        may_hold_duplicates=True,
        primary_key="attendance_id",
        columns=(
            _key("attendance_id", r"^AE[0-9]{10}$", "Attendance id"),
            _nhs_column(unique=False, required=False),
            _given(upper=True),
            _family(upper=True),
            _dob("%Y%m%d"),
            _postcode(),
            _column_date(
                "arrived_on",
                "%Y%m%d",
                "arrived_on",
                category="special-category",
                required=True,
                description="Date of arrival at the department",
            ),
        ),
        select=select,
        make_ids=_ids(10, "AE"),
        kinds=ALL_ERRORS,
        missable=("date_of_birth", "postcode"),
        address_columns=("postcode",),
    )


def national_opt_out() -> ExtractSpec:
    """``nhs.national_opt_out``: everyone who registered the national data opt-out."""

    def select(t: pl.DataFrame, rng: np.random.Generator, seed: int) -> pl.DataFrame:
        return _person(t, pl.col("national_opt_out"), "nhs_number")

    return ExtractSpec(
        member="nhs",
        dataset="national_opt_out",
        title="National data opt-out register",
        description="Patients who have registered a national data opt-out: their confidential "
        "patient information may not be used for research or planning.",
        update_frequency="daily",
        freshness_sla_days=7,
        may_hold_duplicates=False,
        primary_key="nhs_number",
        columns=(
            _nhs_column(unique=True),
            _given(),
            _family(upper=True),
            _dob(None),
        ),
        select=select,
        make_ids=None,
        kinds=ALL_ERRORS - {"old_address", "postcode_typo"},
        missable=("date_of_birth",),
    )


# --- probation, supermarket -----------------------------------------------------------------


def caseload() -> ExtractSpec:
    """``probation.caseload``: people under probation supervision."""

    def select(t: pl.DataFrame, rng: np.random.Generator, seed: int) -> pl.DataFrame:
        rows = _person(
            t, pl.col("on_probation"), "offence_group", "probation_started_on", "no_fixed_abode"
        )
        nfa = pl.col("no_fixed_abode")
        return rows.with_columns(
            address=pl.when(nfa).then(pl.lit("No Fixed Abode")).otherwise("address"),
            postcode=pl.when(~nfa).then("postcode"),
            moved=pl.col("moved") & ~nfa,
        )

    return ExtractSpec(
        member="probation",
        dataset="caseload",
        title="Probation caseload, north London",
        description="People supervised by the Probation Service; some have no fixed abode. "
        "Offence data is criminal-offence data (UK GDPR Art 10).",
        update_frequency="weekly",
        freshness_sla_days=14,
        may_hold_duplicates=True,
        primary_key="case_id",
        columns=(
            _key("case_id", r"^[A-Z][0-9]{6}$", "Case reference number (CRN)"),
            _given("forename"),
            _family("surname"),
            _dob("%d/%m/%Y"),
            _address(required=True),
            _postcode(),
            Column(
                "offence_group",
                pl.col("offence_group"),
                category="special-category",
                required=True,
                enum=OFFENCE_GROUPS,
                stray="unknown",
                description="Main offence group",
            ),
            _column_date(
                "started_on",
                "%d/%m/%Y",
                "probation_started_on",
                category="none",
                required=True,
                description="Start of the current order or licence",
            ),
        ),
        select=select,
        make_ids=_crn,
        missable=("date_of_birth", "postcode"),
        address_columns=("address", "postcode"),
    )


_TITLES = ("Mr", "Mrs", "Ms", "Miss", "Dr")
_ABBREVIATIONS = ((" Road", " Rd"), (" Street", " St"), (" Avenue", " Ave"), (" Gardens", " Gdns"))


def customers() -> ExtractSpec:
    """``freshmart.customers``: a supermarket's online-delivery customer accounts."""

    def select(t: pl.DataFrame, rng: np.random.Generator, seed: int) -> pl.DataFrame:
        rows = _person(t, pl.col("freshmart_customer"), "email", "phone")
        n = rows.height
        title_pick = np.where(
            rows["sex"].to_numpy() == "F", rng.choice([1, 2, 3], n, p=[0.4, 0.4, 0.2]), 0
        )
        title_pick = np.where(rng.random(n) < 0.03, 4, title_pick)
        title = pl.Series(list(_TITLES)).gather(title_pick)
        return rows.with_columns(
            _title=pl.when(pl.Series(rng.random(n) < 0.15)).then(title),
            _case=pl.Series(rng.choice(3, n, p=[0.75, 0.17, 0.08])),  # as typed / lower / upper
            _abbr=pl.Series(rng.random(n) < 0.5),
        )

    full = pl.concat_str("_title", "given_name", "family_name", separator=" ", ignore_nulls=True)
    full = (
        pl.when(pl.col("_case") == 1)
        .then(full.str.to_lowercase())
        .when(pl.col("_case") == 2)
        .then(full.str.to_uppercase())
        .otherwise(full)
    )
    short = pl.col("address")
    for long_form, abbreviation in _ABBREVIATIONS:
        short = short.str.replace(long_form, abbreviation, literal=True)
    delivery = pl.when(pl.col("_abbr")).then(short).otherwise(pl.col("address"))
    return ExtractSpec(
        member="freshmart",
        dataset="customers",
        title="FreshMart online customers",
        description="Customer accounts for home delivery, as typed by customers; one person "
        "can hold several accounts. No date of birth is held.",
        update_frequency="daily",
        freshness_sla_days=7,
        may_hold_duplicates=True,
        primary_key="customer_id",
        columns=(
            _key("customer_id", r"^FM[0-9]{9}$", "Customer account id"),
            Column(
                "full_name",
                full,
                description="Name on the account (as typed)",
                role="full_name",
                required=True,
            ),
            Column(
                "email",
                pl.col("email"),
                description="E-mail address",
                role="email",
                pattern=EMAIL_PATTERN,
            ),
            Column(
                "phone",
                pl.col("phone"),
                description="Mobile phone number",
                role="phone",
                pattern=PHONE_PATTERN,
            ),
            Column(
                "delivery_address",
                delivery,
                description="Delivery address (first line)",
                role="address",
                required=True,
            ),
            _postcode(required=True),
        ),
        select=select,
        make_ids=_ids(9, "FM"),
        kinds=ALL_ERRORS - {"transpose_dob"},
        missable=("email", "phone"),
        address_columns=("address", "postcode"),
    )


def _scramble(rows: np.ndarray, modulus: int, salt: int) -> np.ndarray:
    return affine(rows, modulus, salt)


def _crn(rows: np.ndarray, salt: int) -> pl.Series:
    # Case reference numbers: a letter and six digits (26 million distinct values).
    v = _scramble(rows, 26 * 10**6, salt)
    letters = pl.Series([chr(ord("A") + i) for i in range(26)]).gather(v // 10**6)
    return letters + pl.Series(v % 10**6).cast(pl.String).str.zfill(6)


def all_extracts() -> list[ExtractSpec]:
    """Every extract the generator writes, councils first, in a fixed order."""
    specs: list[ExtractSpec] = []
    for b in BOROUGHS:
        specs += [school_census(b), residents(b), housing_register(b)]
    specs += [shielding_list(), gp_registrations(), ae_attendances(), national_opt_out()]
    specs += [caseload(), customers()]
    return specs

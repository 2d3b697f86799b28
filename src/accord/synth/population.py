"""The true population: households of people with the attributes the stories need.

One call makes one chunk of people, vectorised with NumPy and Polars. A chunk depends only on
(seed, chunk number, first person, count), so chunks are reproducible on their own and the
whole run streams in bounded memory.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from accord.synth.geography import BOROUGH_SLUGS, BOROUGHS, NEIGHBOURS, World, addresses
from accord.synth.keys import derive
from accord.synth.names import ORIGIN_WEIGHTS, ORIGINS, NameTables
from accord.synth.nhs import nhs_numbers

REFERENCE_DATE = date(2026, 11, 1)  # the day every extract is "taken"
SCHOOL_YEAR_CUTOFF = date(2026, 8, 31)  # age on this day sets the 2026/27 year group
_REF = np.datetime64(REFERENCE_DATE.isoformat(), "D")

SINGLE, COUPLE, FAMILY, LONE_PARENT, SHARERS, MULTIGEN = range(6)
HOUSEHOLD_TYPES = ("single", "couple", "family", "lone_parent", "sharers", "multigeneration")
# Shares of households by type, close to inner-London census figures.
TYPE_WEIGHTS = np.array([0.30, 0.22, 0.20, 0.10, 0.13, 0.05])
ADULT1, PARTNER, CHILD, SHARER, GRANDPARENT = range(5)
# "head" is the household reference person: the one who applies for housing, pays the bills.
ROLES = ("head", "partner", "child", "sharer", "grandparent")
YEAR_GROUPS = ("R", *(str(y) for y in range(1, 14)))  # Reception, then Years 1-13

# Age of the first adult by household type: (age, relative density) knots, linearly joined.
_AGE_KNOTS: dict[int, tuple[tuple[int, float], ...]] = {
    SINGLE: (
        (18, 0.2),
        (22, 0.8),
        (28, 1.0),
        (35, 0.9),
        (45, 0.6),
        (55, 0.6),
        (65, 0.7),
        (75, 0.8),
        (85, 0.6),
        (95, 0.1),
        (100, 0.0),
    ),
    COUPLE: (
        (20, 0.2),
        (28, 0.9),
        (35, 0.7),
        (45, 0.5),
        (55, 0.8),
        (65, 1.0),
        (75, 0.8),
        (85, 0.3),
        (95, 0.02),
        (100, 0.0),
    ),
    FAMILY: (
        (20, 0.05),
        (25, 0.3),
        (32, 0.9),
        (38, 1.0),
        (45, 0.8),
        (52, 0.3),
        (60, 0.02),
        (61, 0.0),
    ),
    LONE_PARENT: ((18, 0.05), (22, 0.4), (30, 0.9), (38, 1.0), (45, 0.7), (55, 0.2), (60, 0.0)),
    SHARERS: ((18, 0.3), (21, 0.9), (26, 1.0), (32, 0.6), (40, 0.2), (55, 0.05), (65, 0.0)),
    MULTIGEN: ((28, 0.2), (35, 0.8), (42, 1.0), (50, 0.6), (58, 0.1), (62, 0.0)),
}
OFFENCE_GROUPS = (
    "violence",
    "acquisitive",
    "drugs",
    "public_order",
    "motoring",
    "criminal_damage",
    "sexual",
    "other",
)
_OFFENCE_P = np.array([0.28, 0.22, 0.14, 0.09, 0.08, 0.07, 0.04, 0.08])
CLINICAL_GROUPS = (
    "cancer",
    "transplant",
    "respiratory",
    "rare_disease",
    "immunosuppression",
    "renal",
    "other",
)
_CLINICAL_P = np.array([0.22, 0.04, 0.38, 0.06, 0.16, 0.08, 0.06])
EMAIL_DOMAINS = (
    "gmail.com",
    "outlook.com",
    "hotmail.co.uk",
    "yahoo.co.uk",
    "icloud.com",
    "btinternet.com",
    "live.co.uk",
    "aol.com",
)
_EMAIL_P = np.array([0.35, 0.15, 0.15, 0.10, 0.10, 0.05, 0.05, 0.05])


def _age_table(knots: tuple[tuple[int, float], ...]) -> np.ndarray:
    ages = np.arange(101)
    w = np.interp(ages, [a for a, _ in knots], [v for _, v in knots], left=0.0, right=0.0)
    return w / w.sum()


_AGE_TABLES = {t: _age_table(k) for t, k in _AGE_KNOTS.items()}


def _households(rng: np.random.Generator, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Household types and sizes adding up to exactly ``count`` people."""
    types: list[np.ndarray] = []
    sizes: list[np.ndarray] = []
    total = 0
    while total < count:
        m = int((count - total) / 2.2) + 16
        t = rng.choice(6, size=m, p=TYPE_WEIGHTS)
        kids4 = rng.choice([1, 2, 3, 4], size=m, p=[0.42, 0.38, 0.14, 0.06])
        kids3 = rng.choice([1, 2, 3], size=m, p=[0.55, 0.33, 0.12])
        sharers = rng.choice([2, 3, 4, 5], size=m, p=[0.45, 0.30, 0.17, 0.08])
        size = np.select(
            [t == SINGLE, t == COUPLE, t == FAMILY, t == LONE_PARENT, t == SHARERS],
            [1, 2, 2 + kids4, 1 + kids3, sharers],
            default=3 + kids3,
        )
        types.append(t)
        sizes.append(size)
        total += int(size.sum())
    t = np.concatenate(types)
    size = np.concatenate(sizes)
    cum = np.cumsum(size)
    last = int(np.searchsorted(cum, count))
    t, size = t[: last + 1], size[: last + 1].copy()
    size[last] -= int(cum[last]) - count  # the last household is cut to fit the chunk
    return t, size


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _gather(values: np.ndarray | list[str], index: np.ndarray) -> pl.Series:
    return pl.Series(list(values), dtype=pl.String).gather(index)


def generate_people(
    world: World, names: NameTables, seed: int, chunk: int, start: int, count: int
) -> pl.DataFrame:
    """Make people ``start .. start+count-1`` (chunk number ``chunk``) as a truth DataFrame."""
    rng = np.random.default_rng([seed, chunk, 0x5EED])
    htype, hsize = _households(rng, count)
    n_h = htype.size
    hh = np.repeat(np.arange(n_h), hsize)
    rank = np.arange(count) - (np.cumsum(hsize) - hsize)[hh]
    ht = htype[hh]
    household_id = start + np.arange(n_h)  # unique: a chunk never has more households than people

    role = np.full(count, CHILD)
    role[rank == 0] = ADULT1
    role[(rank == 1) & np.isin(ht, [COUPLE, FAMILY, MULTIGEN])] = PARTNER
    role[(rank == 2) & (ht == MULTIGEN)] = GRANDPARENT
    role[(ht == SHARERS) & (rank > 0)] = SHARER

    # --- ages and dates of birth ---------------------------------------------------------
    first_age = np.empty(n_h, dtype=np.int64)
    for t, table in _AGE_TABLES.items():
        where = np.flatnonzero(htype == t)
        first_age[where] = rng.choice(101, size=where.size, p=table)
    a1 = first_age[hh]
    age = a1.copy()
    partner_age = np.clip(a1 + np.rint(rng.normal(0, 3.5, count)).astype(np.int64), 18, 100)
    age = np.where(role == PARTNER, partner_age, age)
    age = np.where(role == GRANDPARENT, np.clip(a1 + rng.integers(24, 36, count), 60, 100), age)
    oldest_child = np.clip(a1 - 18, 0, 17)
    age = np.where(role == CHILD, (rng.random(count) * (oldest_child + 1)).astype(np.int64), age)
    age = np.where(role == SHARER, rng.choice(101, size=count, p=_AGE_TABLES[SHARERS]), age)
    days_old = np.floor((age + rng.random(count)) * 365.2425).astype(np.int64)
    dob = _REF - days_old.astype("timedelta64[D]")
    birth_year = dob.astype("datetime64[Y]").astype(np.int64) + 1970

    # --- sex -------------------------------------------------------------------------------
    p_female = np.full(count, 0.5)
    p_female[(role == ADULT1) & (ht == SINGLE) & (age >= 70)] = 0.64
    p_female[(role == ADULT1) & (ht == LONE_PARENT)] = 0.88
    p_female[role == GRANDPARENT] = 0.62
    p_female[role == CHILD] = 0.49
    female = rng.random(count) < p_female
    first_female = female[np.cumsum(hsize) - hsize][hh]
    same_sex = rng.random(count) < 0.05
    female = np.where(role == PARTNER, first_female == same_sex, female)

    # --- origin and names ------------------------------------------------------------------
    h_origin = rng.choice(len(ORIGINS), size=n_h, p=np.array(ORIGIN_WEIGHTS))
    origin = h_origin[hh]
    own_origin = rng.choice(len(ORIGINS), size=count, p=np.array(ORIGIN_WEIGHTS))
    origin = np.where(
        (role == SHARER) | ((role == PARTNER) & (rng.random(count) < 0.15)), own_origin, origin
    )
    h_family = names.sample_family(rng, h_origin)
    own_family = names.sample_family(rng, origin)
    maiden = names.sample_family(rng, origin)
    married = (rng.random(n_h) < 0.65)[hh] & ~same_sex
    family = h_family[hh]
    keeps_own = (role == SHARER) | ((role == PARTNER) & ~married)
    keeps_own |= (role == GRANDPARENT) & (rng.random(count) < 0.5)
    family = np.where(keeps_own, own_family, family)
    # Married women mostly took the household name; their maiden name is the previous one.
    changed = married & female & np.isin(role, [ADULT1, PARTNER]) & (rng.random(count) < 0.9)
    changed &= maiden != family
    given = names.sample_given(rng, female, origin, birth_year)

    # --- homes -----------------------------------------------------------------------------
    h_borough = rng.choice(len(BOROUGHS), size=n_h, p=[b.population_share for b in BOROUGHS])
    h_deprived = rng.random(n_h) < np.array([b.fsm_rate for b in BOROUGHS])[h_borough]
    h_moved = rng.random(n_h) < 0.12
    h_moved_days = rng.integers(14, 3 * 365, n_h)
    other = (h_borough + rng.integers(1, len(BOROUGHS), n_h)) % len(BOROUGHS)
    h_prev_borough = np.where(rng.random(n_h) < 0.6, h_borough, other)
    salt = derive(seed, "address")
    home = addresses(world, h_borough, 2 * household_id, salt)
    moved_idx = np.flatnonzero(h_moved)
    # At least one row so gathers work when nobody moved; non-movers' values are nulled below.
    made = moved_idx if moved_idx.size else np.zeros(1, dtype=np.int64)
    prev = addresses(world, h_prev_borough[made], 2 * household_id[made] + 1, salt)
    prev_pos = np.full(n_h, -1, dtype=np.int64)
    prev_pos[moved_idx] = np.arange(moved_idx.size)

    h_register = rng.random(n_h) < 0.04 + 0.12 * h_deprived
    h_eviction = h_register & (rng.random(n_h) < 0.18)
    h_ta = h_register & (rng.random(n_h) < np.where(h_eviction, 0.35, 0.18))
    h_registered_days = rng.integers(30, 6 * 365, n_h)
    b_start = world.practice_offsets[h_borough]
    b_count = world.practice_offsets[h_borough + 1] - b_start
    h_practice = b_start + (rng.random(n_h) * b_count).astype(np.int64)

    # --- school ----------------------------------------------------------------------------
    month = (dob.astype("datetime64[M]") - dob.astype("datetime64[Y]")).astype(np.int64)
    day = (dob - dob.astype("datetime64[M]")).astype(np.int64) + 1
    # Age on 31 August 2026 sets the school year; exact age on the reference date (1 Nov).
    aa = 2026 - birth_year - (month >= 8)
    age = 2026 - birth_year - ((month > 10) | ((month == 10) & (day > 1)))
    u = rng.random(count)
    pupil = (role == CHILD) & (
        ((aa >= 4) & (aa <= 15) & (u < 0.94)) | ((aa >= 16) & (aa <= 17) & (u < 0.45))
    )
    secondary = aa >= 11
    h_u = rng.random((n_h, 5))  # cross-border choice and school pick, per phase, per household
    cross = np.where(secondary, h_u[hh, 1] < 0.32, h_u[hh, 0] < 0.18)
    nb_table = np.array([[*NEIGHBOURS[b], *NEIGHBOURS[b][:1] * 3][:3] for b in range(4)])
    nb_count = np.array([len(NEIGHBOURS[b]) for b in range(4)])
    borough = h_borough[hh]
    pick = (h_u[hh, 4] * nb_count[borough]).astype(np.int64)
    school_borough = np.where(cross, nb_table[borough, pick], borough)
    span = world.school_offsets[school_borough, secondary.astype(np.int64)]
    school_u = np.where(secondary, h_u[hh, 3], h_u[hh, 2])
    school = span[:, 0] + (school_u * (span[:, 1] - span[:, 0])).astype(np.int64)
    school = np.where(pupil, school, -1)
    year = aa - 4

    # --- health, justice, housing, consent -------------------------------------------------
    deprived = h_deprived[hh]
    p_shield = (0.019 + 0.22 * _sigmoid((age - 72) / 7.0)) * np.where(deprived, 1.25, 1.0)
    shielding = rng.random(count) < p_shield
    alone = ht == SINGLE
    food = shielding & (rng.random(count) < 0.12 + 0.25 * alone + 0.15 * deprived)
    clinical = rng.choice(len(CLINICAL_GROUPS), size=count, p=_CLINICAL_P)
    p_prob = (
        np.select(
            [(age >= 18) & (age <= 35), (age > 35) & (age <= 50), (age > 50) & (age <= 70)],
            [0.012, 0.006, 0.002],
            default=0.0,
        )
        * np.where(female, 1 / 6, 1.0)
        * np.where(deprived, 2.2, 1.0)
    )
    eviction = h_eviction[hh]
    ta = h_ta[hh]
    p_prob *= np.where(eviction | ta, 2.0, 1.0)
    probation = rng.random(count) < p_prob
    nfa = probation & (rng.random(count) < np.where(eviction | ta, 0.35, 0.04))
    offence = rng.choice(len(OFFENCE_GROUPS), size=count, p=_OFFENCE_P)
    lam = (
        0.28
        * np.where((age < 5) | (age >= 75), 1.6, 1.0)
        * np.where(deprived, 1.8, 1.0)
        * np.where(eviction | ta | nfa, 2.5, 1.0)
        * np.where(probation, 2.0, 1.0)
    )
    ae = rng.poisson(lam)
    opt_out = rng.random(count) < 0.05
    gp_registered = rng.random(count) < 0.97
    on_residents = rng.random(count) < 0.95
    customer = (age >= 18) & (rng.random(count) < 0.30 + 0.15 * shielding)
    has_phone = (age >= 16) & (rng.random(count) < 0.95)
    has_email = (age >= 16) & (rng.random(count) < 0.90)
    gp_days = np.minimum(days_old, np.floor(rng.exponential(6 * 365, count)).astype(np.int64))
    mobile = rng.integers(7_400_000_000, 8_000_000_000, count)
    email_sep = _gather((".", "_", ""), rng.choice(3, size=count, p=[0.5, 0.2, 0.3]))
    email_num = np.where(rng.random(count) < 0.5, rng.integers(1, 100, count), -1)
    email_dom = rng.choice(len(EMAIL_DOMAINS), size=count, p=_EMAIL_P)
    probation_days = rng.integers(1, 2 * 365, count)

    person = start + np.arange(count)
    hp = prev_pos[hh]
    has_prev = hp >= 0
    hp0 = np.where(has_prev, hp, 0)
    frame = pl.DataFrame(
        {
            "true_person_id": person + 1,
            "household_id": household_id[hh],
            "household_type": _gather(HOUSEHOLD_TYPES, ht),
            "household_role": _gather(ROLES, role),
            "given_name": _gather(names.given.tolist(), given),
            "given_code": given,
            "family_name": _gather(names.family.tolist(), family),
            "previous_family_name": _gather(names.family.tolist(), maiden),
            "sex": _gather(("M", "F"), female.astype(np.int64)),
            "date_of_birth": dob,
            "age": age,
            "nhs_number": nhs_numbers(person, derive(seed, "nhs")),
            "borough": _gather(BOROUGH_SLUGS, borough),
            "address": home["address"].gather(hh),
            "postcode": home["postcode"].gather(hh),
            "uprn": home["uprn"].gather(hh),
            "moved_on": _REF - h_moved_days[hh].astype("timedelta64[D]"),
            "prev_borough": _gather(BOROUGH_SLUGS, h_prev_borough[hh]),
            "prev_address": prev["address"].gather(hp0),
            "prev_postcode": prev["postcode"].gather(hp0),
            "prev_uprn": prev["uprn"].gather(hp0),
            "school_urn": _gather(world.school_urn.tolist(), np.maximum(school, 0)),
            "school_name": _gather(world.school_name.tolist(), np.maximum(school, 0)),
            "school_borough": _gather(BOROUGH_SLUGS, school_borough),
            "year_group": _gather(YEAR_GROUPS, np.clip(year, 0, 13)),
            "fsm_eligible": pupil & deprived,
            "low_income_household": deprived,
            "shielding": shielding,
            "clinical_group": _gather(CLINICAL_GROUPS, clinical),
            "needs_food_support": food,
            "ae_attendances": ae,
            "on_probation": probation,
            "offence_group": _gather(OFFENCE_GROUPS, offence),
            "probation_started_on": _REF - probation_days.astype("timedelta64[D]"),
            "no_fixed_abode": nfa,
            "on_housing_register": h_register[hh],
            "eviction_notice": eviction,
            "temporary_accommodation": ta,
            "housing_registered_on": _REF - h_registered_days[hh].astype("timedelta64[D]"),
            "national_opt_out": opt_out,
            "gp_practice": _gather(world.practice_code.tolist(), h_practice[hh]),
            "gp_registered_on": _REF - gp_days.astype("timedelta64[D]"),
            "on_residents_register": on_residents,
            "freshmart_customer": customer,
            "phone": pl.Series(mobile).cast(pl.String),
            "email_sep": email_sep,
            "email_num": email_num,
            "email_domain": _gather(EMAIL_DOMAINS, email_dom),
            "pupil": pupil,
            "moved": h_moved[hh],
            "married_name": changed,
            "has_phone": has_phone,
            "has_email": has_email,
            "gp_registered": gp_registered,
        }
    )
    ascii_name = pl.col("given_name").str.to_lowercase().str.replace_all("[^a-z]", "")
    ascii_family = pl.col("family_name").str.to_lowercase().str.replace_all("[^a-z]", "")
    return frame.with_columns(
        true_person_id=pl.format("P{}", pl.col("true_person_id").cast(pl.String).str.zfill(9)),
        previous_family_name=pl.when("married_name").then("previous_family_name"),
        moved_on=pl.when("moved").then("moved_on"),
        prev_borough=pl.when("moved").then("prev_borough"),
        prev_address=pl.when("moved").then("prev_address"),
        prev_postcode=pl.when("moved").then("prev_postcode"),
        prev_uprn=pl.when("moved").then("prev_uprn"),
        school_urn=pl.when("pupil").then("school_urn"),
        school_name=pl.when("pupil").then("school_name"),
        school_borough=pl.when("pupil").then("school_borough"),
        year_group=pl.when("pupil").then("year_group"),
        clinical_group=pl.when("shielding").then("clinical_group"),
        offence_group=pl.when("on_probation").then("offence_group"),
        probation_started_on=pl.when("on_probation").then("probation_started_on"),
        housing_registered_on=pl.when("on_housing_register").then("housing_registered_on"),
        gp_practice=pl.when("gp_registered").then("gp_practice"),
        gp_registered_on=pl.when("gp_registered").then("gp_registered_on"),
        phone=pl.when("has_phone").then(
            pl.format("0{} {}", pl.col("phone").str.slice(0, 4), pl.col("phone").str.slice(4))
        ),
        email=pl.when("has_email").then(
            pl.concat_str(
                ascii_name,
                pl.col("email_sep"),
                ascii_family,
                pl.when(pl.col("email_num") >= 0).then(pl.col("email_num").cast(pl.String)),
                pl.lit("@"),
                pl.col("email_domain"),
                ignore_nulls=True,
            )
        ),
    ).drop("email_sep", "email_num", "email_domain", "has_phone", "has_email", "gp_registered")


# Columns of the truth file people.parquet (helpers used only while generating are dropped).
TRUTH_COLUMNS: tuple[str, ...] = (
    "true_person_id",
    "household_id",
    "household_type",
    "household_role",
    "given_name",
    "family_name",
    "previous_family_name",
    "sex",
    "date_of_birth",
    "age",
    "nhs_number",
    "borough",
    "address",
    "postcode",
    "uprn",
    "moved_on",
    "prev_borough",
    "prev_address",
    "prev_postcode",
    "prev_uprn",
    "pupil",
    "school_urn",
    "school_name",
    "school_borough",
    "year_group",
    "fsm_eligible",
    "low_income_household",
    "shielding",
    "clinical_group",
    "needs_food_support",
    "ae_attendances",
    "on_probation",
    "offence_group",
    "probation_started_on",
    "no_fixed_abode",
    "on_housing_register",
    "eviction_notice",
    "temporary_accommodation",
    "housing_registered_on",
    "national_opt_out",
    "gp_practice",
    "gp_registered_on",
    "on_residents_register",
    "freshmart_customer",
    "email",
    "phone",
)

"""Comparison templates: a registry of small values keyed by identifier role and encoding.

Linkage never writes comparisons by hand for a dataset. It looks at the roles the contracts
declare (and the agreement permits), picks the template registered for each role and the way
its values arrive (``clear`` text, a ``keyed`` pseudonym, later Bloom-filter encodings), and
asks it for a Splink comparison. A trust can register its own template the same way.

Two design choices for UK administrative data live here:

* Location is **one** comparison over UPRN, address and postcode (unit, sector, district,
  area), so agreeing on both address and postcode is not counted twice, and a move within the
  same district still earns some weight while a move never outweighs names and date of birth.
* A **household guard** with fixed weights: records that agree on family name and address but
  whose first names (or dates of birth) clearly disagree are most often twins, siblings or a
  parent and child, not one person; the guard weighs heavily against them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import splink.comparison_level_library as cll
from splink.internals.comparison_creator import ComparisonCreator
from splink.internals.comparison_level_creator import ComparisonLevelCreator
from splink.internals.comparison_library import CustomComparison
from splink.internals.dialects import SplinkDialect

from accord.catalogue.contract import Role
from accord.linkage.levels import ScreenedDamerauLevenshteinLevel
from accord.linkage.source import CLEAR, KEYED

Roles = frozenset[Role]


@dataclass(frozen=True)
class ComparisonTemplate:
    """How to compare one role (or a group of roles) arriving in one encoding."""

    name: str
    roles: Roles  # the template applies when any of these roles is present...
    encoding: str = CLEAR
    requires: Roles = frozenset()  # ...and all of these are present
    requires_any: Roles = frozenset()  # ...and at least one of these (if given)
    build: Callable[[set[Role]], ComparisonCreator] = field(repr=False, default=None)  # type: ignore[assignment]
    description: str = ""


REGISTRY: list[ComparisonTemplate] = []


def register(template: ComparisonTemplate) -> ComparisonTemplate:
    """Add a comparison template (later registrations of the same name replace earlier ones)."""
    REGISTRY[:] = [t for t in REGISTRY if t.name != template.name]
    REGISTRY.append(template)
    return template


def select_templates(
    roles: set[Role], encodings: dict[Role, str] | None = None
) -> list[ComparisonTemplate]:
    """The templates that apply to ``roles`` with their encodings, in registry order.

    Examples:
        >>> [t.name for t in select_templates({Role.given_name, Role.date_of_birth})]
        ['given_name', 'date_of_birth']
    """
    encodings = encodings or {}
    chosen: list[ComparisonTemplate] = []
    for template in REGISTRY:
        present = template.roles & roles
        if not present or not template.requires <= roles:
            continue
        if template.requires_any and not template.requires_any & roles:
            continue
        if any(encodings.get(r, CLEAR) != template.encoding for r in present):
            continue
        chosen.append(template)
    return chosen


def build_comparisons(
    roles: set[Role], encodings: dict[Role, str] | None = None
) -> list[ComparisonCreator]:
    """Splink comparisons for ``roles``, one per applicable template."""
    return [t.build(roles) for t in select_templates(roles, encodings)]


# -- shared levels ----------------------------------------------------------------------------

SWAP_JW = 0.88  # each name of a swapped pair at least this similar to the other field
SWAPPED = "given and family names swapped"
SWAPPED_TYPO = "given and family names swapped, with a typo"


class SwappedSimilar(ComparisonLevelCreator):
    """Given and family names swapped, each side similar (Jaro-Winkler) rather than equal:
    written with each engine's own similarity function, so it runs on DuckDB and Spark."""

    def __init__(self, threshold: float = SWAP_JW) -> None:
        self.threshold = threshold

    def create_sql(self, sql_dialect: SplinkDialect) -> str:
        jw = sql_dialect.jaro_winkler_function_name
        t = self.threshold
        return (
            f"{jw}(given_name_l, family_name_r) >= {t} AND {jw}(family_name_l, given_name_r) >= {t}"
        )

    def create_label_for_charts(self) -> str:
        return SWAPPED_TYPO


JW_HIGH, JW_LOW = 0.92, 0.80
PLACE = "same place: "


def _initial() -> ComparisonLevelCreator:
    return cll.CustomLevel(
        "(length(given_name_l) = 1 OR length(given_name_r) = 1) "
        "AND substr(given_name_l, 1, 1) = substr(given_name_r, 1, 1)",
        "one given name is the other's initial",
        base_dialect_str="duckdb",
    )


def _given_agrees_somehow(roles: set[Role]) -> ComparisonLevelCreator:
    """Any evidence the two given names could be the same person's."""
    parts: list[ComparisonLevelCreator] = [
        cll.JaroWinklerLevel("given_name", JW_LOW),
        cll.ArrayIntersectLevel("given_group", 1),
        _initial(),
    ]
    parts.append(ScreenedDamerauLevenshteinLevel("given_name", 1))
    if Role.family_name in roles:
        parts.append(cll.ColumnsReversedLevel("given_name", "family_name", symmetrical=True))
        parts.append(SwappedSimilar())
    if Role.middle_name in roles:
        parts.append(_given_is_middle())
    return cll.Or(*parts)


def _given_is_middle() -> ComparisonLevelCreator:
    return cll.CustomLevel(
        "given_name_l = middle_name_r OR middle_name_l = given_name_r",
        "given name is the other's middle name",
        base_dialect_str="duckdb",
    )


def _dob_agrees_somehow() -> ComparisonLevelCreator:
    return cll.Or(
        cll.ExactMatchLevel("dob"), _dob_transposed(), _dob_keystroke(), _dob_two_of_three()
    )


def _dob_keystroke() -> ComparisonLevelCreator:
    # On the ISO text: one digit mistyped or two adjacent digits swapped (1985/1958).
    return ScreenedDamerauLevenshteinLevel("dob", 1).configure(
        label_for_charts="dates of birth one keystroke apart"
    )


def _dob_transposed() -> ComparisonLevelCreator:
    return cll.CustomLevel(
        "dob_y_l = dob_y_r AND dob_m_l = dob_d_r AND dob_d_l = dob_m_r",
        "day and month transposed",
        base_dialect_str="duckdb",
    )


def _dob_two_of_three() -> ComparisonLevelCreator:
    return cll.CustomLevel(
        "(CASE WHEN dob_y_l = dob_y_r THEN 1 ELSE 0 END + CASE WHEN dob_m_l = dob_m_r THEN 1 "
        "ELSE 0 END + CASE WHEN dob_d_l = dob_d_r THEN 1 ELSE 0 END) = 2",
        "one of day, month, year differs",
        base_dialect_str="duckdb",
    )


def _same_place(roles: set[Role]) -> ComparisonLevelCreator:
    parts: list[ComparisonLevelCreator] = []
    if Role.uprn in roles:
        parts.append(cll.ExactMatchLevel("uprn"))
    if Role.address in roles:
        parts.append(cll.ExactMatchLevel("address"))
    if Role.postcode in roles:
        parts.append(cll.ExactMatchLevel("postcode"))
    return cll.Or(*parts) if len(parts) > 1 else parts[0]


def _both_present(column: str) -> ComparisonLevelCreator:
    return cll.CustomLevel(
        f"{column}_l IS NOT NULL AND {column}_r IS NOT NULL", base_dialect_str="duckdb"
    )


# -- templates --------------------------------------------------------------------------------


def _nhs(roles: set[Role]) -> ComparisonCreator:
    return CustomComparison(
        output_column_name="nhs_number",
        comparison_description="NHS number (valid check digit only)",
        comparison_levels=[
            cll.NullLevel("nhs_number"),
            cll.ExactMatchLevel("nhs_number"),
            cll.ElseLevel(),
        ],
    )


def _given(roles: set[Role]) -> ComparisonCreator:
    levels: list[ComparisonLevelCreator] = [
        cll.NullLevel("given_name"),
        cll.ExactMatchLevel("given_name").configure(tf_adjustment_column="given_name"),
    ]
    if Role.family_name in roles:
        levels.append(
            cll.ColumnsReversedLevel("given_name", "family_name", symmetrical=True).configure(
                label_for_charts=SWAPPED
            )
        )
        levels.append(SwappedSimilar())
    levels += [
        cll.ArrayIntersectLevel("given_group", 1).configure(
            label_for_charts="nickname of each other"
        ),
        cll.JaroWinklerLevel("given_name", JW_HIGH),
        # Short names defeat Jaro-Winkler (Ali/Ai is 0.61): one keystroke catches them.
        ScreenedDamerauLevenshteinLevel("given_name", 1).configure(
            label_for_charts="given names one keystroke apart"
        ),
        cll.JaroWinklerLevel("given_name", JW_LOW),
    ]
    if Role.middle_name in roles:
        levels.append(_given_is_middle())
    levels.append(_initial())
    if Role.family_name in roles:
        # One name recorded in the other field, the other name replaced (a forename taken
        # for a surname, a new surname): weak on its own, decisive with a date of birth.
        levels.append(
            cll.CustomLevel(
                "given_name_l = family_name_r OR family_name_l = given_name_r",
                "one name in the other's field",
                base_dialect_str="duckdb",
            )
        )
    levels.append(cll.ElseLevel())
    return CustomComparison(
        output_column_name="given_name",
        comparison_description="Given name",
        comparison_levels=levels,
    )


def _family(roles: set[Role]) -> ComparisonCreator:
    levels: list[ComparisonLevelCreator] = [
        cll.NullLevel("family_name"),
        cll.ExactMatchLevel("family_name").configure(tf_adjustment_column="family_name"),
    ]
    if Role.given_name in roles:
        levels.append(
            cll.ColumnsReversedLevel("family_name", "given_name", symmetrical=True).configure(
                label_for_charts=SWAPPED
            )
        )
        levels.append(SwappedSimilar())
    levels += [
        cll.JaroWinklerLevel("family_name", JW_HIGH),
        ScreenedDamerauLevenshteinLevel("family_name", 1).configure(
            label_for_charts="family names one keystroke apart"
        ),
        cll.CustomLevel(
            "length(family_name_l) >= 3 AND length(family_name_r) >= 3 AND "
            "(strpos(family_name_l, family_name_r) > 0 "
            "OR strpos(family_name_r, family_name_l) > 0)",
            "one family name contains the other (double-barrelled)",
            base_dialect_str="duckdb",
        ),
        cll.JaroWinklerLevel("family_name", JW_LOW),
        cll.ElseLevel(),
    ]
    return CustomComparison(
        output_column_name="family_name",
        comparison_description="Family name",
        comparison_levels=levels,
    )


def _dob(roles: set[Role]) -> ComparisonCreator:
    return CustomComparison(
        output_column_name="date_of_birth",
        comparison_description="Date of birth",
        comparison_levels=[
            cll.NullLevel("dob"),
            cll.ExactMatchLevel("dob"),
            _dob_transposed(),
            _dob_keystroke(),
            _dob_two_of_three(),
            cll.ElseLevel(),
        ],
    )


def _location(roles: set[Role]) -> ComparisonCreator:
    present = [
        c
        for r, c in ((Role.uprn, "uprn"), (Role.address, "address"), (Role.postcode, "postcode"))
        if r in roles
    ]
    null_sql = " AND ".join(f"({c}_l IS NULL OR {c}_r IS NULL)" for c in present)
    levels: list[ComparisonLevelCreator] = [
        cll.CustomLevel(null_sql, "no location on one side", base_dialect_str="duckdb").configure(
            is_null_level=True
        )
    ]
    # Levels whose label starts with PLACE mean "same place" (the household guard sums their u).
    if Role.uprn in roles:
        levels.append(cll.ExactMatchLevel("uprn").configure(label_for_charts=f"{PLACE}same UPRN"))
    if Role.address in roles:
        levels.append(
            cll.ExactMatchLevel("address").configure(label_for_charts=f"{PLACE}same address")
        )
    if Role.postcode in roles:
        if Role.address in roles:
            levels.append(
                cll.And(
                    cll.ExactMatchLevel("postcode"), cll.JaroWinklerLevel("address", JW_LOW)
                ).configure(label_for_charts=f"{PLACE}same postcode, similar address")
            )
        levels.append(
            cll.ExactMatchLevel("postcode").configure(
                tf_adjustment_column="postcode", label_for_charts=f"{PLACE}same postcode"
            )
        )
    if Role.address in roles:
        levels.append(cll.JaroWinklerLevel("address", 0.90))
    if Role.postcode in roles:
        levels += [
            ScreenedDamerauLevenshteinLevel("postcode", 1).configure(
                label_for_charts="postcode one keystroke apart"
            ),
            cll.ExactMatchLevel("postcode_sector"),
            cll.ExactMatchLevel("postcode_district"),
            cll.ExactMatchLevel("postcode_area"),
        ]
    levels.append(cll.ElseLevel())
    return CustomComparison(
        output_column_name="location",
        comparison_description="Location: UPRN, address, postcode (unit, sector, district, area)",
        comparison_levels=levels,
    )


def _sex(roles: set[Role]) -> ComparisonCreator:
    return CustomComparison(
        output_column_name="sex",
        comparison_description="Sex",
        comparison_levels=[cll.NullLevel("sex"), cll.ExactMatchLevel("sex"), cll.ElseLevel()],
    )


def _email(roles: set[Role]) -> ComparisonCreator:
    return CustomComparison(
        output_column_name="email",
        comparison_description="E-mail address",
        comparison_levels=[
            cll.NullLevel("email"),
            cll.ExactMatchLevel("email"),
            cll.CustomLevel(
                "split_part(email_l, '@', 1) = split_part(email_r, '@', 1)",
                "same user name, other domain",
                base_dialect_str="duckdb",
            ),
            cll.ElseLevel(),
        ],
    )


def _phone(roles: set[Role]) -> ComparisonCreator:
    return CustomComparison(
        output_column_name="phone",
        comparison_description="Telephone number",
        comparison_levels=[cll.NullLevel("phone"), cll.ExactMatchLevel("phone"), cll.ElseLevel()],
    )


def _exact(column: str, description: str) -> Callable[[set[Role]], ComparisonCreator]:
    def build(roles: set[Role]) -> ComparisonCreator:
        return CustomComparison(
            output_column_name=column,
            comparison_description=f"{description} (keyed pseudonym: exact only)",
            comparison_levels=[cll.NullLevel(column), cll.ExactMatchLevel(column), cll.ElseLevel()],
        )

    return build


HOUSEHOLD_GIVEN_CONFLICT = "same household, first names disagree, dates of birth agree (twins?)"
HOUSEHOLD_DOB_CONFLICT = "same household and name, dates of birth disagree (parent and child?)"
HOUSEHOLD = "same family name and address"


def household_conditions(roles: set[Role]) -> dict[str, ComparisonLevelCreator]:
    """The household patterns the guard weighs, by label, most specific first."""
    place = _same_place(roles)
    conditions = {}
    if Role.date_of_birth in roles:
        conditions[HOUSEHOLD_GIVEN_CONFLICT] = cll.And(
            cll.ExactMatchLevel("family_name"),
            place,
            _both_present("given_name"),
            cll.Not(_given_agrees_somehow(roles)),
            _dob_agrees_somehow(),
        )
        conditions[HOUSEHOLD_DOB_CONFLICT] = cll.And(
            cll.ExactMatchLevel("family_name"),
            cll.ExactMatchLevel("given_name"),
            place,
            _both_present("dob"),
            cll.Not(_dob_agrees_somehow()),
        )
    conditions[HOUSEHOLD] = cll.And(cll.ExactMatchLevel("family_name"), place)
    return conditions


def _fixed(
    level: ComparisonLevelCreator, label: str, weight: float = 0.0
) -> ComparisonLevelCreator:
    return level.configure(
        label_for_charts=label,
        m_probability=2**weight,
        u_probability=1.0,
        fix_m_probability=True,
        fix_u_probability=True,
    )


def _household(roles: set[Role]) -> ComparisonCreator:
    """Fixed-weight levels, measured on the data before each prediction (see household.py):
    their weight is zero until then."""
    levels = [_fixed(level, label) for label, level in household_conditions(roles).items()]
    levels.append(_fixed(cll.ElseLevel(), "no household conflict"))
    return CustomComparison(
        output_column_name="household",
        comparison_description="Household guard: twins and parent/child at one address",
        comparison_levels=levels,
    )


_LOCATION = frozenset({Role.uprn, Role.address, Role.postcode})
for _template in (
    ComparisonTemplate(
        "nhs_number",
        frozenset({Role.nhs_number}),
        build=_nhs,
        description="exact on valid NHS numbers",
    ),
    ComparisonTemplate(
        "nhs_number_keyed",
        frozenset({Role.nhs_number}),
        KEYED,
        build=_exact("nhs_number", "NHS number"),
    ),
    ComparisonTemplate(
        "given_name",
        frozenset({Role.given_name}),
        build=_given,
        description="exact (term frequency), swapped, nickname, Jaro-Winkler bands",
    ),
    ComparisonTemplate(
        "family_name",
        frozenset({Role.family_name}),
        build=_family,
        description="exact (term frequency), swapped, Jaro-Winkler, double-barrelled",
    ),
    ComparisonTemplate(
        "date_of_birth",
        frozenset({Role.date_of_birth}),
        build=_dob,
        description="exact, day/month transposed, one component off",
    ),
    ComparisonTemplate(
        "date_of_birth_keyed",
        frozenset({Role.date_of_birth}),
        KEYED,
        build=_exact("dob", "Date of birth"),
    ),
    ComparisonTemplate(
        "location",
        _LOCATION,
        build=_location,
        description="UPRN, address, postcode unit/sector/district/area",
    ),
    ComparisonTemplate("sex", frozenset({Role.sex}), build=_sex, description="exact"),
    ComparisonTemplate(
        "email", frozenset({Role.email}), build=_email, description="exact, user name"
    ),
    ComparisonTemplate("phone", frozenset({Role.phone}), build=_phone, description="exact"),
    ComparisonTemplate(
        "household",
        frozenset({Role.given_name}),
        requires=frozenset({Role.family_name}),
        requires_any=_LOCATION,
        build=_household,
        description="fixed penalty for twins/relatives at one address",
    ),
):
    register(_template)

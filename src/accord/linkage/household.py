"""Measuring the household guard's weights on the data itself.

Fellegi–Sunter adds the evidence of each comparison as if they were independent. Among two
*different* people, agreeing on family name and agreeing on address are far from independent:
a household shares both. Left alone, the model counts a household's shared surname and address
twice, and a sibling, a twin or a parent looks like the same person.

The guard measures the dependence in the data. Inside a source that holds each person once
(``may_hold_duplicates: false``) every pair of records is two different people, so its pairs
show how often different people share a family name and an address, and, within one household,
how often they also share a date of birth (twins) or a first name (parent and child). The guard
takes back the evidence counted twice:

    weight = log2(u_independent / u_measured)

where ``u_independent`` is what the model assumes (the product of its own u probabilities) and
``u_measured`` the measured chance, smoothed towards ``u_independent`` when the data are few. In
data without households (FEBRL) the weights come out near zero and change nothing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from accord.catalogue.contract import Role
from accord.linkage.comparisons import (
    HOUSEHOLD,
    HOUSEHOLD_DOB_CONFLICT,
    HOUSEHOLD_GIVEN_CONFLICT,
    JW_LOW,
    PLACE,
    SWAP_JW,
)

SMOOTHING = 200.0  # pseudo-pairs pulling a small measurement towards the model's assumption


@dataclass
class HouseholdMeasure:
    pairs: int = 0  # pairs of records (of different people) with family name and place known
    households: int = 0  # ...sharing family name and place
    given_conflict: int = 0  # ...whose first names disagree (dates of birth known)
    twins: int = 0  # ...of which dates of birth agree
    dob_conflict: int = 0  # ...whose dates of birth disagree (first names known)
    namesakes: int = 0  # ...of which first names are equal


def measure(tables: Iterable[pa.Table], roles: set[Role]) -> HouseholdMeasure:
    """Count household pairs inside duplicate-free sources (every pair is two people)."""
    result = HouseholdMeasure()
    places = [
        c
        for r, c in ((Role.uprn, "uprn"), (Role.address, "address"), (Role.postcode, "postcode"))
        if r in roles
    ]
    if not places or Role.family_name not in roles:
        return result
    has_given = Role.given_name in roles
    has_dob = Role.date_of_birth in roles
    con = duckdb.connect()
    for table in tables:
        con.register("__t", table)
        place_known = " OR ".join(f"{p} IS NOT NULL" for p in places)
        same_place = " OR ".join(f"l.{p} = r.{p}" for p in places)
        known = con.execute(
            f"SELECT count(*) FROM __t WHERE family_name IS NOT NULL AND ({place_known})"
        ).fetchall()[0][0]
        result.pairs += known * (known - 1) // 2
        given_close = (
            f"(jaro_winkler_similarity(l.given_name, r.given_name) >= {JW_LOW} "
            "OR len(list_intersect(l.given_group, r.given_group)) > 0 "
            "OR damerau_levenshtein(l.given_name, r.given_name) <= 1 "
            f"OR (jaro_winkler_similarity(l.given_name, r.family_name) >= {SWAP_JW} AND "
            f"jaro_winkler_similarity(l.family_name, r.given_name) >= {SWAP_JW}) "
            "OR l.given_name = r.family_name "
            "OR (substr(l.given_name, 1, 1) = substr(r.given_name, 1, 1) "
            "    AND (length(l.given_name) = 1 OR length(r.given_name) = 1)))"
            if has_given
            else "TRUE"
        )
        dob_close = (
            "(l.dob = r.dob OR (l.dob_y = r.dob_y AND l.dob_m = r.dob_d AND l.dob_d = r.dob_m) "
            "OR damerau_levenshtein(l.dob, r.dob) <= 1 "
            "OR (CASE WHEN l.dob_y = r.dob_y THEN 1 ELSE 0 END + CASE WHEN l.dob_m = r.dob_m "
            "THEN 1 ELSE 0 END + CASE WHEN l.dob_d = r.dob_d THEN 1 ELSE 0 END) = 2)"
            if has_dob
            else "TRUE"
        )
        given_known = (
            "l.given_name IS NOT NULL AND r.given_name IS NOT NULL" if has_given else "FALSE"
        )
        dob_known = "l.dob IS NOT NULL AND r.dob IS NOT NULL" if has_dob else "FALSE"
        given_equal = "l.given_name = r.given_name" if has_given else "FALSE"
        # Pairs sharing family name and any place; each unordered pair once.
        row = con.execute(f"""
            WITH pairs AS (
              SELECT DISTINCT l.unique_id AS a, r.unique_id AS b,
                ({given_known}) AS gk, ({dob_known}) AS dk,
                {given_close} AS gc, {dob_close} AS dc, {given_equal} AS ge
              FROM __t l JOIN __t r
                ON l.family_name = r.family_name AND l.unique_id < r.unique_id AND ({same_place})
            )
            SELECT count(*),
              count(*) FILTER (WHERE gk AND dk AND NOT gc),
              count(*) FILTER (WHERE gk AND dk AND NOT gc AND dc),
              count(*) FILTER (WHERE gk AND dk AND NOT dc),
              count(*) FILTER (WHERE gk AND dk AND NOT dc AND ge)
            FROM pairs
        """).fetchall()[0]
        con.unregister("__t")
        result.households += row[0] or 0
        result.given_conflict += row[1] or 0
        result.twins += row[2] or 0
        result.dob_conflict += row[3] or 0
        result.namesakes += row[4] or 0
    con.close()
    return result


def weight(agree: int, pairs: int, u_independent: float) -> float:
    """log2(u_independent / u_measured), never positive; 0 when nothing was measured.

    Examples:
        >>> weight(0, 0, 1e-4)
        0.0
        >>> weight(300, 10_000, 1e-4) < -8
        True
    """
    if u_independent <= 0 or pairs <= 0:
        return 0.0
    u_measured = (agree + SMOOTHING * u_independent) / (pairs + SMOOTHING)
    return min(0.0, math.log2(u_independent / u_measured))


def apply(linker: object, found: HouseholdMeasure) -> dict[str, float]:
    """Set the household guard's weights in a trained linker; returns {label: weight}."""
    settings = linker._settings_obj  # type: ignore[attr-defined]
    by_name = {c.output_column_name: c for c in settings.comparisons}
    guard = by_name.get("household")
    if guard is None:
        return {}
    # Level positions are fixed by comparisons.py: 0 is the null level, 1 exact, then
    # (date of birth) transposed, one keystroke apart and one-component-off.
    u_family = _u_sum(by_name.get("family_name"), (1,))
    u_place = _u_place(by_name.get("location"))
    u_dob = _u_sum(by_name.get("date_of_birth"), (1, 2, 3, 4))
    u_given = _u_sum(by_name.get("given_name"), (1,))
    joint = weight(found.households, found.pairs, u_family * u_place)
    weights = {
        HOUSEHOLD: joint,
        HOUSEHOLD_GIVEN_CONFLICT: joint + weight(found.twins, found.given_conflict, u_dob),
        HOUSEHOLD_DOB_CONFLICT: joint + weight(found.namesakes, found.dob_conflict, u_given),
    }
    for level in guard.comparison_levels:
        if level.label_for_charts in weights:
            level.m_probability = 2 ** weights[level.label_for_charts]
            level.u_probability = 1.0
    return weights


def _u_sum(comparison: object, positions: tuple[int, ...]) -> float:
    if comparison is None:
        return 0.0
    levels = comparison.comparison_levels  # type: ignore[attr-defined]
    return sum(levels[i].u_probability or 0.0 for i in positions if i < len(levels))


def _u_place(comparison: object) -> float:
    """Chance two random people agree on UPRN, address or postcode (the guard's 'place')."""
    if comparison is None:
        return 0.0
    return sum(
        level.u_probability or 0.0
        for level in comparison.comparison_levels  # type: ignore[attr-defined]
        if (level.label_for_charts or "").startswith(PLACE)
    )

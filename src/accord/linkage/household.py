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

**Associative matching** (after the ONS's Census to Census Coverage Survey linkage, which
matched the remaining members of households already matched): children move with their
family. When one member of a household is linked with certainty (an *anchor*: probability at
least 0.99 and the best link of both its records) to a record at another address, the
household has moved there, and every other candidate pair between the two households is
scored again as if the first record lived at the second's address: the location then agrees
and the household guard applies as for any two people at one address (a parent or a sibling
at the new address is still told apart by name and date of birth). A name-only match of a
moved child, whose register record has no date of birth, is then linked when a sibling moved
with them, and not when nothing corroborates it. Two households also count as one that moved
when two members of each are likely matches (probability at least 0.2) of each other.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

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
ANCHOR = 0.99  # a link sure enough on its own evidence to say where a household went
# Two members of one household each a likely match (names agreeing) of a member of one other
# household: two coincidences between the same two households are far less likely than one.
MUTUAL = 0.2
ASSOCIATION_FLOOR = 0.01  # pairs scored at least this likely are kept for associative matching
PLACE_COLUMNS = (
    "uprn",
    "address",
    "address_number",
    "postcode",
    "postcode_sector",
    "postcode_district",
    "postcode_area",
)


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
        known = con.execute(
            f"SELECT count(*) FROM __t WHERE family_name IS NOT NULL AND ({place_known})"
        ).fetchall()[0][0]
        result.pairs += known * (known - 1) // 2
        row = con.execute(_household_sql(places, has_given, has_dob)).fetchall()[0]
        con.unregister("__t")
        result.households += row[0] or 0
        result.given_conflict += row[1] or 0
        result.twins += row[2] or 0
        result.dob_conflict += row[3] or 0
        result.namesakes += row[4] or 0
    con.close()
    return result


def _household_sql(places: list[str], has_given: bool, has_dob: bool) -> str:
    """The counts of ``measure`` over the pairs of ``__t`` sharing family name and a place.

    The pairs are found by one equi-join per place (family name and that place), united:
    joining on the family name alone and testing the places afterwards pairs every two
    Smiths of a million-record register. Each unordered pair is counted once (unique_id is
    the source's primary key). The closeness tests are worked out only where the counts use
    them (both first names and both dates of birth known), cheapest test first; a CASE stops
    at the first that holds and Damerau-Levenshtein, seven times Levenshtein's cost, is
    screened by it (levels.py). The last test of each CASE is its ELSE, so a null there
    counts as it did inside the OR it replaces.
    """
    joins = "\n              UNION\n".join(
        "              SELECT l.unique_id AS a, r.unique_id AS b FROM __t l JOIN __t r"
        f" ON l.family_name = r.family_name AND l.{p} = r.{p} AND l.unique_id < r.unique_id"
        for p in places
    )
    given_close = (
        "CASE WHEN l.given_name = r.given_name "
        f"OR jaro_winkler_similarity(l.given_name, r.given_name) >= {JW_LOW} "
        "OR l.given_name = r.family_name "
        "OR (substr(l.given_name, 1, 1) = substr(r.given_name, 1, 1) "
        "    AND (length(l.given_name) = 1 OR length(r.given_name) = 1)) THEN TRUE "
        f"WHEN jaro_winkler_similarity(l.given_name, r.family_name) >= {SWAP_JW} AND "
        f"jaro_winkler_similarity(l.family_name, r.given_name) >= {SWAP_JW} THEN TRUE "
        "WHEN levenshtein(l.given_name, r.given_name) <= 2 "
        "AND damerau_levenshtein(l.given_name, r.given_name) <= 1 THEN TRUE "
        "ELSE len(list_intersect(l.given_group, r.given_group)) > 0 END"
        if has_given
        else "TRUE"
    )
    dob_close = (
        "CASE WHEN l.dob = r.dob "
        "OR (CASE WHEN l.dob_y = r.dob_y THEN 1 ELSE 0 END + CASE WHEN l.dob_m = r.dob_m "
        "THEN 1 ELSE 0 END + CASE WHEN l.dob_d = r.dob_d THEN 1 ELSE 0 END) = 2 THEN TRUE "
        "WHEN levenshtein(l.dob, r.dob) <= 2 AND damerau_levenshtein(l.dob, r.dob) <= 1 "
        "THEN TRUE "
        "ELSE (l.dob_y = r.dob_y AND l.dob_m = r.dob_d AND l.dob_d = r.dob_m) END"
        if has_dob
        else "TRUE"
    )
    known = (
        "l.given_name IS NOT NULL AND r.given_name IS NOT NULL "
        "AND l.dob IS NOT NULL AND r.dob IS NOT NULL"
        if has_given and has_dob
        else "FALSE"
    )
    given_equal = "l.given_name = r.given_name" if has_given else "FALSE"
    return f"""
            WITH keys AS (
{joins}
            ), pairs AS (
              SELECT ({known}) AS k,
                CASE WHEN {known} THEN {given_close} END AS gc,
                CASE WHEN {known} THEN {dob_close} END AS dc,
                {given_equal} AS ge
              FROM keys JOIN __t l ON l.unique_id = keys.a JOIN __t r ON r.unique_id = keys.b
            )
            SELECT count(*),
              count(*) FILTER (WHERE k AND NOT gc),
              count(*) FILTER (WHERE k AND NOT gc AND dc),
              count(*) FILTER (WHERE k AND NOT dc),
              count(*) FILTER (WHERE k AND NOT dc AND ge)
            FROM pairs
        """


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


def associate(
    pairs: pa.Table, tables: Sequence[pa.Table], model: dict[str, Any], *, chunk: int = 200_000
) -> tuple[pa.Table, int]:
    """Score again, as co-resident, the candidate pairs of households an anchor shows moved.

    ``pairs`` are scored pairs (PAIR_COLUMNS), ``tables`` the prepared sources and ``model``
    the trained model (Splink settings JSON, DuckDB dialect). Returns the pairs, in their
    order, with the new scores and how many pairs were scored again.
    """
    columns: set[str] = set().union(*(t.column_names for t in tables)) if tables else set()
    keys = [c for c in ("uprn", "address") if c in columns]
    if not keys or pairs.num_rows == 0:
        return pairs, 0
    from accord.linkage.scoring import Scorer, term_frequencies
    from accord.linkage.thresholds import best_links

    con = duckdb.connect()
    try:
        records = pa.concat_tables(tables, promote_options="default")
        con.register("records", records)
        con.execute(
            "CREATE TEMP TABLE places AS SELECT source_dataset, unique_id, "
            f"coalesce({', '.join(keys)}) AS place FROM records"
        )
        # Pairs are numbered so that new scores go back by position, not by a join on ids.
        con.register(
            "pairs",
            pairs.select(["source_dataset_l", "unique_id_l", "source_dataset_r", "unique_id_r",
                          "match_probability"])
            .append_column("__n", pa.array(np.arange(pairs.num_rows, dtype=np.int64))),
        )  # fmt: skip
        # Each pair with both records' places, joined once for the two uses below.
        con.execute(
            """
            CREATE TEMP TABLE placed AS
            SELECT p.__n, p.source_dataset_l, p.unique_id_l, p.source_dataset_r, p.unique_id_r,
                   p.match_probability, pl.place AS place_l, pr.place AS place_r
            FROM pairs p
            JOIN places pl ON pl.source_dataset = p.source_dataset_l
                          AND pl.unique_id = p.unique_id_l
            JOIN places pr ON pr.source_dataset = p.source_dataset_r
                          AND pr.unique_id = p.unique_id_r
            """
        )
        # Anchors are best links at ANCHOR or above: a pair that likely is the best of its
        # records among all their pairs exactly when it is among their pairs this likely.
        likely = pairs.filter(pc.greater_equal(pairs.column("match_probability"), ANCHOR))
        con.register("best", best_links(likely))
        # Pairs between two households that an anchor shows are one household that moved.
        todo = con.sql(
            f"""
            WITH anchors AS (
              SELECT DISTINCT b.source_dataset_l, pl.place AS place_l,
                     b.source_dataset_r, pr.place AS place_r
              FROM best b
              JOIN places pl ON pl.source_dataset = b.source_dataset_l
                            AND pl.unique_id = b.unique_id_l
              JOIN places pr ON pr.source_dataset = b.source_dataset_r
                            AND pr.unique_id = b.unique_id_r
              WHERE b.match_probability >= {ANCHOR} AND pl.place <> pr.place
              UNION
              SELECT source_dataset_l, place_l, source_dataset_r, place_r
              FROM placed
              WHERE match_probability >= {MUTUAL} AND place_l <> place_r
              GROUP BY ALL
              HAVING count(DISTINCT unique_id_l) >= 2 AND count(DISTINCT unique_id_r) >= 2
            )
            SELECT p.__n, p.source_dataset_l, p.unique_id_l, p.source_dataset_r, p.unique_id_r,
                   CAST(row_number() OVER (
                     ORDER BY p.source_dataset_l, p.unique_id_l, p.source_dataset_r,
                              p.unique_id_r) AS VARCHAR) AS rn
            FROM placed p
            JOIN anchors a ON a.source_dataset_l = p.source_dataset_l AND a.place_l = p.place_l
                          AND a.source_dataset_r = p.source_dataset_r AND a.place_r = p.place_r
            WHERE p.match_probability < {ANCHOR}
            """
        ).to_arrow_table()
        if todo.num_rows == 0:
            return pairs, 0
        con.register("todo", todo)
        moved = [c for c in PLACE_COLUMNS if c in records.column_names]
        replace = ", ".join(f"r.{c} AS {c}" for c in moved)
        # The left record as if it lived at the right record's address; ids are the row numbers.
        left = con.sql(
            f"""
            SELECT l.* REPLACE (t.rn AS unique_id, {replace})
            FROM todo t
            JOIN records l ON l.source_dataset = t.source_dataset_l
                          AND l.unique_id = t.unique_id_l
            JOIN records r ON r.source_dataset = t.source_dataset_r
                          AND r.unique_id = t.unique_id_r
            ORDER BY CAST(t.rn AS INTEGER)
            """
        ).to_arrow_table()
        right = con.sql(
            """
            SELECT r.* REPLACE (t.rn AS unique_id)
            FROM todo t
            JOIN records r ON r.source_dataset = t.source_dataset_r
                          AND r.unique_id = t.unique_id_r
            ORDER BY CAST(t.rn AS INTEGER)
            """
        ).to_arrow_table()
        scorer = Scorer(model, term_frequencies(list(tables)))
        # The pair each row number stands for: scores go back to the pairs by position.
        positions = np.empty(todo.num_rows, dtype=np.int64)
        positions[pc.cast(todo.column("rn"), pa.int64()).to_numpy() - 1] = todo.column(
            "__n"
        ).to_numpy()
        weight = pairs.column("match_weight").to_numpy(zero_copy_only=False).astype(np.float64)
        probability = pairs.column("match_probability").to_numpy(zero_copy_only=False)
        probability = probability.astype(np.float64)
        rescored = np.zeros(pairs.num_rows, dtype=bool)
        found = 0
        for start in range(0, left.num_rows, chunk):
            scored = scorer.score(
                left.slice(start, chunk),
                right.slice(start, chunk),
                join_condition="l.unique_id = r.unique_id",  # row-aligned: one query per chunk
            )
            scored = scored.filter(pc.is_valid(scored.column("match_probability")))
            at = positions[pc.cast(scored.column("unique_id_l"), pa.int64()).to_numpy() - 1]
            new_weight = scored.column("match_weight").to_numpy(zero_copy_only=False)
            weight[at] = np.where(np.isnan(new_weight), weight[at], new_weight)
            probability[at] = scored.column("match_probability").to_numpy(zero_copy_only=False)
            rescored[at] = True
            found += scored.num_rows
    finally:
        con.close()
    return _with_scores(pairs, weight, probability, rescored), found


def _with_scores(
    pairs: pa.Table, weight: np.ndarray, probability: np.ndarray, rescored: np.ndarray
) -> pa.Table:
    """``pairs`` with the new match weights and probabilities of the ``rescored`` rows, in
    their types; the other rows keep their values, nulls included."""
    for name, values in (("match_weight", weight), ("match_probability", probability)):
        before = pairs.column(name)
        missing = pc.is_null(before).to_numpy(zero_copy_only=False) & ~rescored
        pairs = pairs.set_column(
            pairs.schema.get_field_index(name),
            pairs.schema.field(name),
            pa.array(values, pairs.schema.field(name).type, mask=missing),
        )
    return pairs

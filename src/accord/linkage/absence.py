"""Absence is evidence: is a record's household still where the record says it lives?

Children live with their families, and families move together. A pupil's candidate in the
residents register at *another* address is a different person far more often when the pupil's
own family — people of the pupil's family name — is on the register at the pupil's address: the
family is still there, so the pupil most likely is too (or is not on the register at all), and
the namesake across the borough is someone else. When the register covers the pupil's area
(postcode sector) but holds nobody of the family at the pupil's address, the family has gone
(or was never recorded there), and a candidate at another address is more likely the pupil
who moved.

For a candidate pair (a record ``x`` of one source, a record ``y`` of another) at two different
places, the evidence about ``x`` is read in ``y``'s source (and, the other way round, the
evidence about ``y`` in ``x``'s source):

- *family at this address*: ``y``'s source holds a record of ``x``'s family name at ``x``'s
  UPRN or address;
- *family not at this address*: it holds none, but it holds someone in ``x``'s postcode
  sector (the area is covered, so the absence says something);
- otherwise nothing is known (no family name or address, or an area the other source does
  not cover) and the pair is left as it is. Pairs at one place are left as they
  are too: there the candidate is itself the household's record.

The weight of each state is measured on the data, as the household guard measures its own:
``m`` among the links the model is sure of on its own evidence (probability at least 0.99 and
the best link of both records) between two different places, ``u`` among random pairs (every
record with a known state is equally likely in a random pair, and a random pair is almost
never at one place), and ``weight = log2(m / u)``. ``m`` is smoothed towards ``u`` by a few
pseudo-links, so with few sure links between places the weights stay near zero. The measured
weights are saved with the model and each appears as its own line when a pair is explained.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

SURE = 0.99  # links sure enough on their own evidence to measure m on
PSEUDO_LINKS = 10.0  # pseudo-links pulling a small measurement of m towards u (no evidence)
PRESENT = "family at this address"
ABSENT = "family not at this address"
NAME = "household at address"  # the explanation line's comparison name
PLACE_KEYS = ("uprn", "address")
AREA = "postcode_sector"  # the other source covers a record's area when it holds someone there
IDS = ["source_dataset_l", "unique_id_l", "source_dataset_r", "unique_id_r"]


@dataclass
class Direction:
    """Counts of one direction: evidence about records of ``source`` read in ``other``."""

    source: str
    other: str
    links: dict[str, int] = field(default_factory=lambda: {PRESENT: 0, ABSENT: 0})
    records: dict[str, int] = field(default_factory=lambda: {PRESENT: 0, ABSENT: 0})

    def weights(self) -> dict[str, float]:
        """{state: log2(m / u)}; no weight without a measurement of u.

        Examples:
            >>> d = Direction("a", "b", {PRESENT: 2, ABSENT: 38}, {PRESENT: 800, ABSENT: 200})
            >>> w = d.weights()
            >>> w[PRESENT] < -1.5 < 0 < 1.5 < w[ABSENT]
            True
            >>> Direction("a", "b").weights()
            {}
        """
        total = sum(self.records.values())
        if total == 0 or min(self.records.values()) == 0:
            return {}
        links = sum(self.links.values())
        result = {}
        for state in (PRESENT, ABSENT):
            u = self.records[state] / total
            m = (self.links[state] + PSEUDO_LINKS * u) / (links + PSEUDO_LINKS)
            result[state] = math.log2(m / u)
        return result


def weight_key(source: str, other: str) -> str:
    """How the weights of one direction are named: evidence about ``source``'s records read
    in ``other``."""
    return f"{source} in {other}"


def renamed(
    weights: dict[str, dict[str, float]], name_of: Callable[[str], str]
) -> dict[str, dict[str, float]]:
    """``weights`` with each source named by ``name_of`` (compact codes back to refs)."""
    return {
        weight_key(*(name_of(part) for part in key.split(" in "))): by_state
        for key, by_state in weights.items()
    }


def _columns(tables: Sequence[pa.Table]) -> list[str]:
    present = set().union(*(t.column_names for t in tables)) if tables else set()
    return [c for c in PLACE_KEYS if c in present]


def _states_sql(keys: list[str]) -> str:
    """Per record and other source: the state of its household there.

    Equi-joins only (a family name with one place key at a time, the area), against the
    distinct values of the other source: joining on the family name alone would pair every two
    Smiths of a million-record register.
    """
    any_place = " OR ".join(f"x.{k} IS NOT NULL" for k in keys)
    present = "\n          UNION\n".join(
        f"""          SELECT x.source_dataset, x.unique_id, y.source_dataset AS other
          FROM __r x JOIN (SELECT DISTINCT source_dataset, family_name, {k} FROM __r) y
            ON y.family_name = x.family_name AND y.{k} = x.{k}
           AND y.source_dataset <> x.source_dataset"""
        for k in keys
    )
    return f"""
        WITH sources AS (SELECT DISTINCT source_dataset AS other FROM __r),
        known AS (
          SELECT x.source_dataset, x.unique_id, s.other
          FROM __r x JOIN sources s ON s.other <> x.source_dataset
          WHERE x.family_name IS NOT NULL AND ({any_place})
        ),
        present AS (
{present}
        ),
        covered AS (
          SELECT x.source_dataset, x.unique_id, y.source_dataset AS other
          FROM __r x JOIN (SELECT DISTINCT source_dataset, {AREA} FROM __r) y
            ON y.{AREA} = x.{AREA} AND y.source_dataset <> x.source_dataset
        )
        SELECT k.source_dataset, k.unique_id, k.other,
          CASE WHEN p.unique_id IS NOT NULL THEN '{PRESENT}'
               WHEN c.unique_id IS NOT NULL THEN '{ABSENT}' END AS state
        FROM known k
        LEFT JOIN present p USING (source_dataset, unique_id, other)
        LEFT JOIN covered c USING (source_dataset, unique_id, other)
    """


def _register(con: duckdb.DuckDBPyConnection, tables: Sequence[pa.Table], keys: list[str]) -> None:
    wanted = ["source_dataset", "unique_id", "family_name", AREA, *keys]
    parts = [
        t.select([c for c in wanted if c in t.column_names])
        for t in tables
        if {"family_name", AREA} <= set(t.column_names)
    ]
    records = pa.concat_tables(parts, promote_options="default")
    con.register("__r", records)
    con.execute(f"CREATE TEMP TABLE states AS {_states_sql(keys)}")
    con.execute("DELETE FROM states WHERE state IS NULL")


def apply(
    pairs: pa.Table,
    tables: Sequence[pa.Table],
    *,
    unchanged_from: pa.Table | None = None,
) -> tuple[pa.Table, dict[str, dict[str, float]]]:
    """``pairs`` (PAIR_COLUMNS) with the household-at-address evidence added where it applies.

    ``tables`` are the prepared sources. Pairs whose score differs from ``unchanged_from`` (the
    same pairs before associative matching scored some again as one household that moved) are
    left as they are: their move is already evidenced. Returns the pairs, in their order, and
    the measured weights, ``{"<source> in <other>": {state: bits}}``.
    """
    keys = _columns(tables)
    if not keys or pairs.num_rows == 0 or len(tables) < 2:
        return pairs, {}
    if not any({"family_name", AREA} <= set(t.column_names) for t in tables):
        return pairs, {}
    con = duckdb.connect()
    try:
        _register(con, tables, keys)
        # Pairs are numbered so that the evidence is added by position, not by a join back on
        # four ids (millions of pairs at scale).
        numbered = pairs.select([*IDS, "match_probability"]).append_column(
            "__n", pa.array(np.arange(pairs.num_rows, dtype=np.int64))
        )
        con.register("pairs", numbered)
        places = pa.concat_tables(
            [t.select(["source_dataset", "unique_id", *[k for k in keys if k in t.column_names]])
             for t in tables],
            promote_options="default",
        )  # fmt: skip
        con.register("__places", places)
        apart = " AND ".join(
            f"(pl.{k} IS NULL OR pr.{k} IS NULL OR pl.{k} <> pr.{k})" for k in keys
        )
        # Cross-source pairs at two places where either record's household state is known.
        con.execute(
            f"""
            CREATE TEMP TABLE cand AS
            SELECT p.__n, p.source_dataset_l, p.source_dataset_r, p.match_probability,
                   sl.state AS state_l, sr.state AS state_r
            FROM pairs p
            JOIN __places pl ON pl.source_dataset = p.source_dataset_l
                            AND pl.unique_id = p.unique_id_l
            JOIN __places pr ON pr.source_dataset = p.source_dataset_r
                            AND pr.unique_id = p.unique_id_r
            LEFT JOIN states sl ON sl.source_dataset = p.source_dataset_l
                 AND sl.unique_id = p.unique_id_l AND sl.other = p.source_dataset_r
            LEFT JOIN states sr ON sr.source_dataset = p.source_dataset_r
                 AND sr.unique_id = p.unique_id_r AND sr.other = p.source_dataset_l
            WHERE p.source_dataset_l <> p.source_dataset_r AND {apart}
              AND (sl.state IS NOT NULL OR sr.state IS NOT NULL)
            """
        )
        directions = _measure(con)
        weights = {weight_key(d.source, d.other): d.weights() for d in directions}
        rows = [
            (d.source, d.other, state, w) for d in directions for state, w in d.weights().items()
        ]
        if not rows:
            return pairs, weights
        con.register(
            "__w",
            pa.table(
                {
                    "source": [r[0] for r in rows],
                    "other": [r[1] for r in rows],
                    "state": [r[2] for r in rows],
                    "w": [r[3] for r in rows],
                }
            ),
        )
        found = con.sql(
            """
            SELECT c.__n, coalesce(wl.w, 0) + coalesce(wr.w, 0) AS e
            FROM cand c
            LEFT JOIN __w wl ON wl.source = c.source_dataset_l AND wl.other = c.source_dataset_r
                 AND wl.state = c.state_l
            LEFT JOIN __w wr ON wr.source = c.source_dataset_r AND wr.other = c.source_dataset_l
                 AND wr.state = c.state_r
            """
        ).fetchnumpy()
        evidence = np.zeros(pairs.num_rows)
        evidence[found["__n"]] = found["e"]
        if unchanged_from is not None:
            evidence[_rescored(con, unchanged_from, pairs)] = 0.0
    finally:
        con.close()
    return _with_evidence(pairs, evidence), weights


def _rescored(con: duckdb.DuckDBPyConnection, before: pa.Table, pairs: pa.Table) -> np.ndarray:
    """Positions in ``pairs`` of the pairs whose probability differs from ``before``'s."""
    if before is pairs:
        return np.zeros(0, dtype=np.int64)
    if before.num_rows == pairs.num_rows and before.select(IDS).equals(pairs.select(IDS)):
        # The same pairs in the same order (associative matching keeps it): by position.
        was = before.column("match_probability").to_numpy(zero_copy_only=False).astype(float)
        now = pairs.column("match_probability").to_numpy(zero_copy_only=False).astype(float)
        return np.nonzero(~((was == now) | (np.isnan(was) & np.isnan(now))))[0]
    con.register("__before", before)
    found = con.sql(
        """
        SELECT p.__n FROM pairs p
        JOIN (SELECT * FROM __before) b
          USING (source_dataset_l, unique_id_l, source_dataset_r, unique_id_r)
        JOIN (SELECT __n, match_probability AS now FROM pairs) q USING (__n)
        WHERE b.match_probability IS DISTINCT FROM q.now
        """
    ).fetchnumpy()
    return found["__n"]


def _with_evidence(pairs: pa.Table, evidence: np.ndarray) -> pa.Table:
    """``pairs`` with ``evidence`` (bits, by position) added to weight and probability."""
    hit = evidence != 0
    if not hit.any():
        return pairs
    weight_type = pairs.schema.field("match_weight").type
    probability_type = pairs.schema.field("match_probability").type
    weight = pairs.column("match_weight").to_numpy(zero_copy_only=False).astype(np.float64)
    probability = pairs.column("match_probability").to_numpy(zero_copy_only=False)
    probability = probability.astype(np.float64)
    weight = weight + evidence
    probability = np.where(hit, 1 / (1 + np.power(2.0, -weight)), probability)
    pairs = pairs.set_column(
        pairs.schema.get_field_index("match_weight"),
        "match_weight",
        pa.array(weight, weight_type),
    )
    return pairs.set_column(
        pairs.schema.get_field_index("match_probability"),
        "match_probability",
        pa.array(probability, probability_type),
    )


def _measure(con: duckdb.DuckDBPyConnection) -> list[Direction]:
    """m among sure best links between two places, u among records with a known state."""
    found: dict[tuple[str, str], Direction] = {}
    for source, other, state, n in con.execute(
        "SELECT source_dataset, other, state, count(*) FROM states GROUP BY ALL"
    ).fetchall():
        found.setdefault((source, other), Direction(source, other)).records[state] = n
    # A sure link must be the best of both its records among all their pairs; a better pair
    # than one at SURE is at SURE too, so only those are compared.
    sure = f"""
        WITH s AS (
          SELECT __n FROM pairs
          WHERE match_probability >= {SURE} AND source_dataset_l <> source_dataset_r
          QUALIFY match_probability = max(match_probability) OVER (
                    PARTITION BY source_dataset_l, unique_id_l, source_dataset_r)
              AND match_probability = max(match_probability) OVER (
                    PARTITION BY source_dataset_r, unique_id_r, source_dataset_l)
        ),
        sure AS (SELECT c.* FROM cand c JOIN s USING (__n))
        SELECT source_dataset_l, source_dataset_r, state_l, count(*) FROM sure
        WHERE state_l IS NOT NULL GROUP BY ALL
        UNION ALL
        SELECT source_dataset_r, source_dataset_l, state_r, count(*) FROM sure
        WHERE state_r IS NOT NULL GROUP BY ALL
    """
    for source, other, state, n in con.execute(sure).fetchall():
        found.setdefault((source, other), Direction(source, other)).links[state] = n
    return sorted(found.values(), key=lambda d: (d.source, d.other))


def state_of(record: pa.Table, other: pa.Table, other_ref: str) -> str | None:
    """The state of ``record``'s household (one prepared row) in ``other`` (prepared rows of
    the source ``other_ref``), found by the same query as ``apply``; None when nothing is
    known."""
    keys = [k for k in PLACE_KEYS if k in record.column_names and k in other.column_names]
    row = record.to_pylist()[0]
    if not keys or not {"family_name", AREA} <= set(other.column_names):
        return None
    # Only rows of the record's family name or area can decide its state.
    same = pc.equal(other["source_dataset"], other_ref)
    near = pc.or_kleene(
        pc.equal(other["family_name"], row.get("family_name")),
        pc.equal(other[AREA], row.get(AREA)),
    )
    rows = other.filter(pc.and_kleene(same, near))
    wanted = ["source_dataset", "unique_id", "family_name", AREA, *keys]
    con = duckdb.connect()
    try:
        _register(con, [record.select(wanted), rows.select(wanted)], keys)
        found = con.execute(
            "SELECT state FROM states WHERE source_dataset = $s AND unique_id = $u AND other = $o",
            {"s": row["source_dataset"], "u": row["unique_id"], "o": other_ref},
        ).fetchone()
    finally:
        con.close()
    return found[0] if found else None


def evidence(
    weights: dict[str, dict[str, float]],
    left: pa.Table,
    right: pa.Table,
    records: pa.Table,
) -> list[tuple[str, str, float]]:
    """The evidence lines of one pair for an explanation: ``(whose household, state, bits)``.

    ``left`` and ``right`` are the two prepared rows, ``records`` all prepared rows of the run
    and ``weights`` those ``apply`` measured (saved with the model). Empty when the two
    records are at one place or nothing is known.
    """
    keys = [k for k in PLACE_KEYS if k in left.column_names and k in right.column_names]
    a, b = left.to_pylist()[0], right.to_pylist()[0]
    if not weights or a["source_dataset"] == b["source_dataset"]:
        return []
    if any(a.get(k) is not None and a.get(k) == b.get(k) for k in keys):
        return []
    lines = []
    for x, y, row in ((a, b, left), (b, a, right)):
        key = weight_key(x["source_dataset"], y["source_dataset"])
        state = state_of(row, records, y["source_dataset"])
        if state is not None and state in weights.get(key, {}):
            lines.append((x["source_dataset"], state, weights[key][state]))
    return lines

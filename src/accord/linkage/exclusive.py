"""Candidates that exclude each other share their probability.

Splink scores every pair on its own: a pupil with two candidates in the residents register,
"Maria Sanchez" the mother and "Maria Sanchez" the daughter at the same address (the register
holding no date of birth for either), gets 0.9998 with each. A source whose contract says
``may_hold_duplicates: false`` holds each person once, so at most one of the two can be the
pupil: the events exclude each other and their probabilities cannot both be near one.

With odds ``o = p / (1 - p)`` for each candidate, the probability that the record is the
person of one candidate, given all its candidates from that source, is

    o_ab / (1 + sum of o over every candidate that excludes a–b)

where a candidate excludes a–b when it links ``a`` to another record of ``b``'s source, or
``b`` to another record of ``a``'s source, and that source is duplicate-free. A record with
one candidate keeps its probability; a tie between two equally good candidates drops both to
about one half, so neither is linked and both go to review, instead of a coin flip deciding
which one is linked. Sources that may hold duplicates do not exclude (a person may be there
twice).
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb
import pyarrow as pa


def share(pairs: pa.Table, duplicate_free: Iterable[str]) -> pa.Table:
    """``pairs`` with match_probability and match_weight shared among exclusive candidates.

    Examples:
        >>> t = pa.table({
        ...     "source_dataset_l": ["a", "a"], "unique_id_l": ["1", "1"],
        ...     "source_dataset_r": ["b", "b"], "unique_id_r": ["x", "y"],
        ...     "match_weight": [10.0, 10.0], "match_probability": [0.999, 0.999]})
        >>> [round(p, 3) for p in share(t, ["b"]).column("match_probability").to_pylist()]
        [0.5, 0.5]
        >>> share(t, []).column("match_probability").to_pylist()
        [0.999, 0.999]
    """
    free = sorted(set(duplicate_free))
    if pairs.num_rows == 0 or not free:
        return pairs
    columns = pairs.column_names
    con = duckdb.connect()
    try:
        con.register("pairs", pairs)
        con.register("free", pa.table({"ref": pa.array(free, pa.string())}))
        shared = con.sql(
            """
            WITH o AS (
              SELECT *, match_probability / greatest(1 - match_probability, 1e-15) AS __odds
              FROM pairs
            ), s AS (
              SELECT *,
                CASE WHEN source_dataset_r IN (SELECT ref FROM free)
                  THEN sum(__odds) OVER (PARTITION BY source_dataset_l, unique_id_l,
                                                      source_dataset_r)
                  ELSE __odds END AS __odds_l,
                CASE WHEN source_dataset_l IN (SELECT ref FROM free)
                  THEN sum(__odds) OVER (PARTITION BY source_dataset_r, unique_id_r,
                                                      source_dataset_l)
                  ELSE __odds END AS __odds_r
              FROM o
            ), p AS (
              SELECT *, __odds / (1 + __odds_l + __odds_r - __odds) AS __p FROM s
            )
            SELECT * REPLACE (
                __p AS match_probability,
                log2(greatest(__p, 1e-300) / greatest(1 - __p, 1e-300)) AS match_weight)
            FROM p
            """
        ).to_arrow_table()
    finally:
        con.close()
    return shared.select(columns).cast(pairs.schema)

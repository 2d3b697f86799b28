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

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def share(pairs: pa.Table, duplicate_free: Iterable[str]) -> pa.Table:
    """``pairs`` with match_probability and match_weight shared among exclusive candidates.

    The sums of odds over each record's candidates from one source are grouped sums over
    integer codes (numpy), the pairs keep their order and every other column. Integer record
    ids (compact ids) are their own codes.

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
    probability = pairs.column("match_probability").cast(pa.float64())
    p = probability.to_numpy()  # nulls become NaN
    known = ~np.isnan(p)
    odds = np.where(known, p / np.maximum(1 - p, 1e-15), 0.0)
    sources = pc.unique(
        pa.chunked_array(
            [
                *pairs.column("source_dataset_l").cast(pa.string()).chunks,
                *pairs.column("source_dataset_r").cast(pa.string()).chunks,
            ],
            pa.string(),
        )
    )
    source = {
        side: pc.index_in(pairs.column(f"source_dataset_{side}").cast(pa.string()), sources)
        .to_numpy(zero_copy_only=False)
        .astype(np.int64)
        for side in ("l", "r")
    }
    exclusive = {
        side: pc.is_in(sources, value_set=pa.array(free, pa.string())).to_numpy(
            zero_copy_only=False
        )[source[side]]
        for side in ("l", "r")
    }

    def competing(side: str, other: str) -> np.ndarray:
        """Sum of odds over the candidates of each pair's ``side`` record from the ``other``
        record's source, where that source is duplicate-free; the pair's own odds elsewhere."""
        key = _record_codes(pairs.column(f"unique_id_{side}"), source[side]) * len(sources)
        key += source[other]
        sums = _group_sums(key, odds)
        return np.where(exclusive[other], sums, odds)

    odds_l = competing("l", "r")
    odds_r = competing("r", "l")
    shared = odds / (1 + odds_l + odds_r - odds)
    weight = np.log2(np.maximum(shared, 1e-300) / np.maximum(1 - shared, 1e-300))
    index = pairs.schema.get_field_index
    result = pairs.set_column(
        index("match_probability"),
        pairs.schema.field("match_probability"),
        pa.array(shared, mask=~known).cast(pairs.schema.field("match_probability").type),
    )
    return result.set_column(
        index("match_weight"),
        pairs.schema.field("match_weight"),
        pa.array(weight, mask=~known).cast(pairs.schema.field("match_weight").type),
    )


def _record_codes(ids: pa.ChunkedArray, source: np.ndarray) -> np.ndarray:
    """One integer per (source, record id): from the ids themselves when they are
    non-negative integers (compact ids, compact.py), else from a dictionary of the ids."""
    if pa.types.is_integer(ids.type) and ids.null_count == 0 and len(ids):
        values = ids.to_numpy().astype(np.int64)
        # Codes times the sources (share) must stay well inside int64.
        if values.min() >= 0 and (int(values.max()) + 1) * (int(source.max()) + 1) < 1 << 40:
            return source * (int(values.max()) + 1) + values
    encoded = ids.cast(pa.string()).combine_chunks().dictionary_encode()
    return source * len(encoded.dictionary) + encoded.indices.to_numpy().astype(np.int64)


def _group_sums(key: np.ndarray, values: np.ndarray) -> np.ndarray:
    """For each row, the sum of ``values`` over the rows of its ``key``: a count over the keys
    themselves where their range is small (a few bins per row), else over the distinct keys (a
    sort)."""
    if key.size and int(key.max()) < 4 * key.size + (1 << 20):
        return np.bincount(key, weights=values)[key]
    _, codes = np.unique(key, return_inverse=True)
    return np.bincount(codes, weights=values)[codes]

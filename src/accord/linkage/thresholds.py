"""Choosing the link threshold from the model itself, not from anyone's ground truth.

A fixed threshold (say 0.95) is too strict where the model is sure of most pairs and too loose
where it is not. The model's match probabilities say how many of the links it makes are
expected to be wrong: among the links made at threshold ``t`` (pairs that are the best link of
both their records) the expected number of false links is the sum of ``1 - p``. Accord links
at the lowest threshold whose expected precision still meets the target (0.995 by default:
releases put precision first), never below 0.5 (a link must be likelier than not) and never
above 0.99. Doubtful pairs below it still go to review.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

LOWEST, HIGHEST = 0.5, 0.99


def expected_precision(probabilities: np.ndarray, threshold: float) -> float:
    """Mean match probability of the pairs at or above ``threshold`` (1.0 when there are none).

    Examples:
        >>> expected_precision(np.array([1.0, 0.99, 0.6]), 0.9)
        0.995
    """
    linked = probabilities[probabilities >= threshold]
    return float(linked.mean()) if linked.size else 1.0


def best_links(pairs: pa.Table) -> pa.Table:
    """Pairs that are the best link of both their records: the links clustering would make
    (a record's weaker candidates, a twin or sibling beside the real match, are not links)."""
    if pairs.num_rows == 0 or "unique_id_l" not in pairs.column_names:
        return pairs
    import duckdb

    con = duckdb.connect()
    try:
        con.register("pairs", pairs)
        return con.sql(
            """
            SELECT * FROM pairs
            QUALIFY match_probability = max(match_probability)
                      OVER (PARTITION BY source_dataset_l, unique_id_l)
                AND match_probability = max(match_probability)
                      OVER (PARTITION BY source_dataset_r, unique_id_r)
            """
        ).to_arrow_table()
    finally:
        con.close()


def choose_threshold(pairs: pa.Table, target_precision: float = 0.995) -> float:
    """The lowest threshold in [0.5, 0.99] whose expected precision meets the target.

    Examples:
        >>> t = pa.table({"match_probability": [0.999] * 400 + [0.7, 0.6, 0.2]})
        >>> choose_threshold(t)
        0.6
    """
    p = best_links(pairs).column("match_probability").to_numpy(zero_copy_only=False)
    p = p.astype(float)
    p = np.sort(p[~np.isnan(p) & (p >= LOWEST)])[::-1]
    if p.size == 0:
        return HIGHEST
    # Running precision when linking the best k pairs, for every k.
    precision = np.cumsum(p) / np.arange(1, p.size + 1)
    ok = np.nonzero(precision >= target_precision)[0]
    if ok.size == 0:
        return HIGHEST
    chosen = float(p[ok[-1]])
    return float(min(max(chosen, LOWEST), HIGHEST))

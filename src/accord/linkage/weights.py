"""How a run's scored pairs are spread by match weight: a histogram binned in DuckDB.

A run stores every pair it scored at or above the review floor (``pairs.parquet``). The chart of
their match weights is built from that file by DuckDB's ``histogram`` over
``equi_width_bins``: only the bin counts come back to Python, however many pairs there are.
"""

from __future__ import annotations

import math
from pathlib import Path

import duckdb
from pydantic import BaseModel

from accord.core.engine.sql import lit

# Probabilities of exactly 0 or 1 have no finite weight; a threshold there is clipped.
_CLIP = 1e-9


def match_weight(probability: float) -> float:
    """The match weight (bits of evidence) of a match probability: log2(p / (1 - p)).

    Examples:
        >>> match_weight(0.5)
        0.0
        >>> round(match_weight(0.9), 2)
        3.17
    """
    p = min(max(probability, _CLIP), 1 - _CLIP)
    return math.log2(p / (1 - p))


class WeightHistogram(BaseModel):
    """The scored pairs of one run counted in equal-width bins of match weight.

    The bins span the pairs' weights and both thresholds, so the thresholds can be drawn on the
    same axis; bin ``i`` covers ``lo + i * width`` up to ``lo + (i + 1) * width``.
    """

    agreement: str
    run: int
    pairs: int
    lo: float
    hi: float
    counts: list[int]
    minimum: float | None  # the lowest and highest weight of a scored pair
    maximum: float | None
    link_threshold: float  # as match probabilities
    review_floor: float
    threshold_weight: float
    floor_weight: float
    linked: int  # pairs at or above the link threshold
    to_review: int  # pairs from the review floor up to the link threshold

    @property
    def width(self) -> float:
        return (self.hi - self.lo) / len(self.counts) if self.counts else 0.0


def weight_histogram(
    agreement: str,
    run: int,
    pairs_path: Path,
    *,
    link_threshold: float,
    review_floor: float,
    bins: int = 30,
) -> WeightHistogram:
    """Bin the match weights of the pairs in ``pairs_path`` (a run's ``pairs.parquet``)."""
    threshold_w, floor_w = match_weight(link_threshold), match_weight(review_floor)
    con = duckdb.connect(config={"threads": 2})
    try:
        # A view cannot take a prepared parameter: the path (the trust's own file) is quoted.
        path = lit(pairs_path)
        con.execute(
            "CREATE TEMP VIEW scored AS SELECT match_weight AS w, match_probability AS p "
            f"FROM read_parquet({path}) WHERE isfinite(match_weight)"
        )
        n, low, high, linked, to_review = con.execute(
            "SELECT count(*), min(w), max(w), count(*) FILTER (WHERE p >= ?), "
            "count(*) FILTER (WHERE p >= ? AND p < ?) FROM scored",
            [link_threshold, review_floor, link_threshold],
        ).fetchone()
        lo = min(floor_w, threshold_w, *([low] if low is not None else []))
        hi = max(floor_w, threshold_w, *([high] if high is not None else []))
        if hi <= lo:
            hi = lo + 1.0
        counts = [0] * bins
        if n:
            (by_upper,) = con.execute(
                "SELECT histogram(w, equi_width_bins(?, ?, ?, false)) FROM scored",
                [lo, hi, bins],
            ).fetchone()
            uppers = sorted(by_upper)
            for i, upper in enumerate(uppers):
                # A weight a rounding above the last boundary lands in DuckDB's overflow bin.
                counts[min(i, bins - 1)] += by_upper[upper]
    finally:
        con.close()
    return WeightHistogram(
        agreement=agreement,
        run=run,
        pairs=n,
        lo=lo,
        hi=hi,
        counts=counts,
        minimum=low,
        maximum=high,
        link_threshold=link_threshold,
        review_floor=review_floor,
        threshold_weight=threshold_w,
        floor_weight=floor_w,
        linked=linked,
        to_review=to_review,
    )

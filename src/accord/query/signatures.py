"""Min-hash signatures of aggregate cells, so differencing compares people only where it must.

A cell's signature is one-permutation min-hashing of its records: each record's stable 64-bit
hash ``h`` (md5 of ``dataset|record_key``) falls in one of ``K`` buckets by its top bits, and the
signature keeps the smallest ``h`` of each bucket (all ones for an empty bucket). If the records
of cell A are a subset of cell B's, then in every bucket A's records are a subset of B's, so A's
minimum is never below B's. When neither cell's signature is everywhere at least the other's,
neither can hold the other, and no record needs to be read. The test never wrongly clears a
nested pair; two unrelated cells of similar size get through to the exact check with a chance
of about ``2 ** (1 - K)``.

Examples:
    >>> import numpy as np
    >>> hashes = np.array([11, 22, 33, 22], dtype=np.uint64)
    >>> sigs = cell_signatures([(np.array([0, 0, 0, 1]), hashes)], 2)
    >>> may_nest(sigs[1], sigs[0])  # cell 1's one record is also in cell 0
    True
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

BITS = 5
K = 1 << BITS  # buckets
SCHEME = f"md5-lower-one-permutation-{K}"  # changes if the hash or the bucketing changes
_MAX = np.iinfo(np.uint64).max


def cell_signatures(parts: Sequence[tuple[np.ndarray, np.ndarray]], n_cells: int) -> np.ndarray:
    """Signatures (``n_cells`` × ``K``) from (cell index, record hash) arrays, one pair per
    source; a cell with no records keeps the all-ones signature."""
    out = np.full(n_cells * K, _MAX, dtype=np.uint64)
    for cells, hashes in parts:
        hashes = np.asarray(hashes, dtype=np.uint64)
        if hashes.size == 0:
            continue
        slots = np.asarray(cells, dtype=np.int64) * K + (hashes >> np.uint64(64 - BITS)).astype(
            np.int64
        )
        np.minimum.at(out, slots, hashes)
    return out.reshape(n_cells, K)


def nest_candidates(signature: np.ndarray, others: np.ndarray) -> np.ndarray:
    """For one signature and a matrix of others: which of the others may hold it or be held."""
    if len(others) == 0:
        return np.zeros(0, dtype=bool)
    return np.all(signature >= others, axis=1) | np.all(others >= signature, axis=1)


def may_nest(a: np.ndarray, b: np.ndarray) -> bool:
    """False only if neither cell's records can be a subset of the other's."""
    return bool(np.all(a >= b) or np.all(b >= a))


__all__ = ["SCHEME", "K", "cell_signatures", "may_nest", "nest_candidates"]

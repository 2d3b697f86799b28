"""Reading scored pairs back in linkage tests."""

from __future__ import annotations

import pyarrow as pa


def probabilities(table: pa.Table) -> dict[tuple[str, str], float]:
    """Match probability of each scored pair, by (left id, right id)."""
    return {
        (a, b): p
        for a, b, p in zip(
            table.column("unique_id_l").to_pylist(),
            table.column("unique_id_r").to_pylist(),
            table.column("match_probability").to_pylist(),
            strict=True,
        )
    }

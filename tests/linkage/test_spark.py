"""The same linkage runs on Spark by switching the backend only."""

from __future__ import annotations

import pytest

from accord.linkage import link
from tests.linkage.conftest import FAST, make_boroughs

pyspark = pytest.importorskip("pyspark")


def _groups(result) -> set[frozenset[tuple[str, str]]]:
    groups: dict[object, set[tuple[str, str]]] = {}
    for row in result.clusters.table.to_pylist():
        groups.setdefault(row["cluster"], set()).add((row["source_dataset"], row["unique_id"]))
    return {frozenset(g) for g in groups.values()}


@pytest.mark.slow
def test_spark_gives_the_same_clusters_as_duckdb() -> None:
    boroughs = make_boroughs(households=40, seed=9)
    on_duckdb = link(boroughs.sources(), config=FAST)
    # The trained model is shared so both engines score with the same parameters.
    try:
        on_spark = link(boroughs.sources(), backend="spark", model=on_duckdb.model, config=FAST)
    except TypeError as exc:
        # Splink 5.0.0's Spark dialect subclasses sqlglot's Spark generator, which the compiled
        # (mypyc) sqlglot 30 wheel forbids. Remove this once the two agree again.
        if "interpreted classes cannot inherit from compiled" not in str(exc):
            raise
        pytest.xfail(f"Splink's Spark dialect cannot load with this sqlglot build: {exc}")
    assert _groups(on_spark) == _groups(on_duckdb)

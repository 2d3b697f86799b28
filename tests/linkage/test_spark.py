"""The same linkage runs on Spark by switching the backend only."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from accord.linkage import LinkResult, link
from accord.linkage.dialects import model_for_dialect
from tests.linkage.conftest import FAST, make_boroughs


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    """One local Spark session for the module (startup is the slow part), few partitions."""
    os.environ.setdefault("ACCORD_SPARK_PARTITIONS", "4")
    from accord.linkage.backends import spark_session

    yield spark_session()


def _groups(result: LinkResult) -> set[frozenset[tuple[str, str]]]:
    groups: dict[object, set[tuple[str, str]]] = {}
    for row in result.clusters.table.to_pylist():
        groups.setdefault(row["cluster"], set()).add((row["source_dataset"], row["unique_id"]))
    return {frozenset(g) for g in groups.values()}


def test_a_duckdb_model_is_rewritten_in_spark_sql_with_the_same_parameters() -> None:
    boroughs = make_boroughs(households=40, seed=9)
    model = link(boroughs.sources(), config=FAST).model
    moved = model_for_dialect(model, "spark")
    assert moved["sql_dialect"] == "spark"
    for old, new in zip(model["comparisons"], moved["comparisons"], strict=True):
        for a, b in zip(old["comparison_levels"], new["comparison_levels"], strict=True):
            assert a.get("m_probability") == b.get("m_probability")
    assert model_for_dialect(moved, "duckdb")["comparisons"] == model["comparisons"]


@pytest.mark.slow
def test_spark_gives_the_same_clusters_as_duckdb(spark: Any) -> None:
    boroughs = make_boroughs(households=40, seed=9)
    on_duckdb = link(boroughs.sources(), config=FAST)
    # The trained model is shared so both engines score with the same parameters.
    on_spark = link(boroughs.sources(), backend="spark", model=on_duckdb.model, config=FAST)
    assert _groups(on_spark) == _groups(on_duckdb)

"""Clustering never chains people together through a duplicate-free source."""

from __future__ import annotations

import pyarrow as pa

from accord.linkage.clustering import cluster

NODES = pa.table(
    {
        "source_dataset": ["a/x", "b/y", "b/y", "c/z"],
        "unique_id": ["1", "1", "2", "1"],
    }
)


def _edges(*pairs: tuple[str, str, str, str, float]) -> pa.Table:
    names = [
        "source_dataset_l",
        "unique_id_l",
        "source_dataset_r",
        "unique_id_r",
        "match_probability",
    ]
    return pa.table({n: [p[i] for p in pairs] for i, n in enumerate(names)})


def _groups(table: pa.Table) -> set[frozenset[str]]:
    groups: dict[int, set[str]] = {}
    for row in table.to_pylist():
        groups.setdefault(row["cluster"], set()).add(f"{row['source_dataset']}:{row['unique_id']}")
    return {frozenset(g) for g in groups.values()}


def test_a_record_joins_its_best_link_when_a_source_holds_people_once() -> None:
    edges = _edges(("a/x", "1", "b/y", "1", 0.99), ("a/x", "1", "b/y", "2", 0.97))
    found = cluster(NODES, edges, threshold=0.9, duplicate_free=["b/y"])
    assert frozenset({"a/x:1", "b/y:1"}) in _groups(found.table)
    assert frozenset({"b/y:2"}) in _groups(found.table)


def test_plain_connected_components_would_have_chained_them() -> None:
    edges = _edges(("a/x", "1", "b/y", "1", 0.99), ("a/x", "1", "b/y", "2", 0.97))
    found = cluster(NODES, edges, threshold=0.9)
    assert frozenset({"a/x:1", "b/y:1", "b/y:2"}) in _groups(found.table)


def test_a_rejected_pair_never_ends_in_one_cluster_even_through_a_third_record() -> None:
    edges = _edges(("a/x", "1", "c/z", "1", 0.99), ("c/z", "1", "b/y", "1", 0.98))
    found = cluster(NODES, edges, threshold=0.9, rejected=[(("a/x", "1"), ("b/y", "1"))])
    groups = _groups(found.table)
    assert not any({"a/x:1", "b/y:1"} <= g for g in groups)


def test_an_accepted_pair_is_linked_whatever_the_model_says() -> None:
    found = cluster(NODES, _edges(), threshold=0.9, accepted=[(("a/x", "1"), ("c/z", "1"))])
    assert frozenset({"a/x:1", "c/z:1"}) in _groups(found.table)


def test_the_cluster_size_distribution_is_reported() -> None:
    found = cluster(NODES, _edges(("a/x", "1", "b/y", "1", 0.99)), threshold=0.9)
    assert found.sizes() == {1: 2, 2: 1}

"""Clustering scored pairs into people, without chaining errors into giant clusters.

Plain connected components at a threshold joins A–B and B–C even when A and C are plainly two
people, and a few such errors chain thousands of records together. Here pairs are taken best
first, and a pair is only joined when the result still makes sense:

* a source whose contract says ``may_hold_duplicates: false`` holds each person once, so a
  cluster never takes two of its records (the better link wins: best-link resolution);
* a reviewer's rejection is a cannot-link: the two records never end in one cluster;
* a reviewer's acceptance is a forced link, joined first whatever the model says.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

NodeRef = tuple[str, str]  # (source dataset ref, record key)


@dataclass
class Clusters:
    """Cluster of every record, and the probability linking it to its cluster."""

    table: pa.Table  # source_dataset, unique_id, cluster, match_probability

    def sizes(self) -> dict[int, int]:
        """How many clusters have each size: {size: count}."""
        counts = pc.value_counts(self.table.column("cluster")).field("counts").to_numpy()
        return dict(sorted(Counter(int(c) for c in counts).items()))


def node_ids(
    table: pa.Table, source: str = "source_dataset", record: str = "unique_id"
) -> pa.Array:
    """One string per record: "source|key" (source refs contain no "|")."""
    return pc.binary_join_element_wise(table.column(source), table.column(record), "\x1f")


def cluster(
    nodes: pa.Table,
    edges: pa.Table,
    *,
    threshold: float,
    duplicate_free: Iterable[str] = (),
    accepted: Sequence[tuple[NodeRef, NodeRef]] = (),
    rejected: Sequence[tuple[NodeRef, NodeRef]] = (),
) -> Clusters:
    """Constrained best-link clustering.

    ``nodes`` has source_dataset and unique_id; ``edges`` has source_dataset_l, unique_id_l,
    source_dataset_r, unique_id_r and match_probability.

    Examples:
        >>> free = ["camden/pupils"]
        >>> clusters = cluster(nodes, edges, threshold=0.95, duplicate_free=free)  # doctest: +SKIP
        >>> clusters.sizes()  # doctest: +SKIP
        {1: 3120, 2: 4410}
    """
    ids = node_ids(nodes)
    n = len(ids)
    sources = nodes.column("source_dataset")
    source_names = pc.unique(sources).to_pylist()
    source_index = pc.index_in(sources, value_set=pa.array(source_names)).to_numpy()
    dup_free = set(duplicate_free)
    free_bits = 0
    for i, name in enumerate(source_names):
        if name in dup_free:
            free_bits |= 1 << i
    # Python ints as bitmasks: one bit per source that cannot hold a person twice.
    bits = [(1 << i) & free_bits for i in range(len(source_names))]
    mask = [bits[s] for s in source_index.tolist()]

    def index_of(refs: Sequence[NodeRef]) -> np.ndarray:
        keys = pa.array([f"{s}\x1f{r}" for s, r in refs], pa.string())
        return pc.index_in(keys, value_set=ids).to_numpy(zero_copy_only=False)

    if len(edges):
        left = pc.index_in(node_ids(edges, "source_dataset_l", "unique_id_l"), value_set=ids)
        right = pc.index_in(node_ids(edges, "source_dataset_r", "unique_id_r"), value_set=ids)
        prob = edges.column("match_probability").to_numpy(zero_copy_only=False).astype(float)
        keep = (prob >= threshold) & ~np.isnan(prob)
        left_np = left.to_numpy(zero_copy_only=False)[keep]
        right_np = right.to_numpy(zero_copy_only=False)[keep]
        prob = prob[keep]
        order = np.lexsort((right_np, left_np, -prob))  # best first, ties by id for determinism
        left_np, right_np, prob = left_np[order], right_np[order], prob[order]
    else:
        left_np = right_np = np.zeros(0, dtype=np.int64)
        prob = np.zeros(0)

    parent = list(range(n))
    best = [float("nan")] * n
    cannot: dict[int, set[int]] = {}

    def find(x: int) -> int:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def union(a: int, b: int) -> None:
        ra, rb = find(a), find(b)
        if ra == rb:
            return
        parent[rb] = ra
        mask[ra] |= mask[rb]
        if rb in cannot:
            cannot.setdefault(ra, set()).update(cannot.pop(rb))

    def forbidden(ra: int, rb: int) -> bool:
        for x, y in ((ra, rb), (rb, ra)):
            for other in cannot.get(x, ()):
                if find(other) == y:
                    return True
        return False

    for a, b in rejected:
        ia, ib = index_of([a, b])
        if ia >= 0 and ib >= 0:
            cannot.setdefault(int(ia), set()).add(int(ib))
            cannot.setdefault(int(ib), set()).add(int(ia))
    for a, b in accepted:
        ia, ib = (int(x) for x in index_of([a, b]))
        if ia >= 0 and ib >= 0 and not forbidden(find(ia), find(ib)):
            union(ia, ib)
            best[ia] = best[ib] = 1.0

    for a, b, p in zip(left_np.tolist(), right_np.tolist(), prob.tolist(), strict=True):
        ra, rb = find(a), find(b)
        if ra != rb:
            if mask[ra] & mask[rb]:
                continue  # each would bring a record from the same duplicate-free source
            if cannot and forbidden(ra, rb):
                continue
            union(ra, rb)
        # Edges come best first, so the first one kept for a record is its best link.
        if best[a] != best[a]:
            best[a] = p
        if best[b] != best[b]:
            best[b] = p
    # Each record's root by pointer jumping over the whole forest at once (what find gives).
    roots = np.array(parent, dtype=np.int64)
    while True:
        jumped = roots[roots]
        if np.array_equal(jumped, roots):
            break
        roots = jumped
    probability = pa.array(best, pa.float64(), from_pandas=True)
    table = pa.table(
        {
            "source_dataset": sources,
            "unique_id": nodes.column("unique_id"),
            "cluster": pa.array(roots),
            "match_probability": probability,
        }
    )
    return Clusters(table)

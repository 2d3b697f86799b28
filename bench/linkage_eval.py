"""Shared helpers of the linkage benchmarks: load a synthetic population, score links."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from accord.catalogue.contract import Contract
from accord.linkage.source import LinkSource


def synth_source(root: Path, ref: str) -> LinkSource:
    member, name = ref.split("/")
    contract = Contract.from_file(root / "contracts" / member / f"{name}.yaml")
    return LinkSource(ref, contract, root / "extracts" / member / f"{name}.parquet")


def truth_of(root: Path, ref: str, source: LinkSource) -> dict[str, str]:
    """{record key (as linkage writes it): true person id}."""
    member, name = ref.split("/")
    table = pq.read_table(root / "ground_truth" / member / f"{name}.parquet")
    keys = source.key_fields()
    key_values = [
        "|".join(str(v) for v in row)
        for row in zip(*(table.column(k).to_pylist() for k in keys), strict=True)
    ]
    return dict(zip(key_values, table.column("true_person_id").to_pylist(), strict=True))


def cross_pairs(
    assign: dict[tuple[str, str], object], left: str, right: str
) -> set[tuple[str, str]]:
    """Pairs (left key, right key) put in one cluster, across two sources."""
    members: dict[object, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for (ref, key), c in assign.items():
        members[c][ref].append(key)
    result = set()
    for by_ref in members.values():
        for a in by_ref.get(left, []):
            for b in by_ref.get(right, []):
                result.add((a, b))
    return result


def true_cross_pairs(truth_l: dict[str, str], truth_r: dict[str, str]) -> set[tuple[str, str]]:
    by_person: dict[str, list[str]] = defaultdict(list)
    for key, person in truth_r.items():
        by_person[person].append(key)
    return {(a, b) for a, person in truth_l.items() for b in by_person.get(person, [])}


def precision_recall(predicted: set, actual: set) -> tuple[float, float, int, int, int]:
    tp = len(predicted & actual)
    fp = len(predicted) - tp
    fn = len(actual) - tp
    precision = tp / len(predicted) if predicted else 1.0
    recall = tp / len(actual) if actual else 1.0
    return precision, recall, tp, fp, fn


def clusters_to_assign(
    table: pa.Table, cluster_column: str = "cluster"
) -> dict[tuple[str, str], object]:
    return dict(
        zip(
            zip(
                table.column("source_dataset").to_pylist(),
                table.column("unique_id").to_pylist(),
                strict=True,
            ),
            table.column(cluster_column).to_pylist(),
            strict=True,
        )
    )

"""Stable person keys: a person keeps their key from one run to the next.

A re-run (new data, a retrained model) makes new clusters. Each new cluster inherits the old
key it shares most records with (largest overlap first, each old key to one cluster only);
clusters left without one get a fresh key. A key that no cluster inherits is retired and never
used again. Merges (a new cluster holding records of several old keys) and splits (an old key's
records now in several clusters) are recorded as lineage.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U


def new_key() -> str:
    """A fresh person key: "P" and 12 base32 characters (60 random bits).

    Examples:
        >>> key = new_key()
        >>> key[0], len(key)
        ('P', 13)
    """
    # One draw of 60 random bits, five per character: the same keys as twelve draws of one
    # character each, at a twentieth of the cost (a million people get a key each run).
    bits = secrets.randbits(60)
    return "P" + "".join(ALPHABET[(bits >> shift) & 31] for shift in range(0, 60, 5))


def new_keys(n: int) -> list[str]:
    """``n`` fresh person keys at once, each drawn as :func:`new_key` draws one (60 random bits
    from ``secrets``, five per character), so a million keys take a fraction of a second.

    Examples:
        >>> keys = new_keys(3)
        >>> [(k[0], len(k)) for k in keys]
        [('P', 13), ('P', 13), ('P', 13)]
    """
    if n <= 0:
        return []
    bits = np.frombuffer(secrets.token_bytes(8 * n), dtype=np.uint64)
    alphabet = np.frombuffer(ALPHABET.encode("ascii"), dtype=np.uint8)
    chars = np.empty((n, 13), dtype=np.uint8)
    chars[:, 0] = ord("P")
    for position, shift in enumerate(range(0, 60, 5), start=1):
        chars[:, position] = alphabet[(bits >> np.uint64(shift)) & np.uint64(31)]
    return pa.array(chars.view("S13").ravel(), pa.binary()).cast(pa.string()).to_pylist()


@dataclass
class KeyAssignment:
    """Person key of every record after a run, and how keys changed."""

    table: pa.Table  # source_dataset, unique_id, person_key, match_probability
    created: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    kept: int = 0
    merges: list[tuple[str, list[str]]] = field(default_factory=list)  # (kept key, absorbed keys)
    splits: list[tuple[str, list[str]]] = field(default_factory=list)  # (old key, new keys)


def assign_keys(
    clusters: pa.Table,
    previous: pa.Table | None,
    *,
    is_used: Callable[[str], bool] = lambda key: False,
    make_key: Callable[[], str] = new_key,
) -> KeyAssignment:
    """Give each cluster a person key, keeping old keys where clusters persist.

    ``clusters`` has source_dataset, unique_id, cluster, match_probability; ``previous`` has
    source_dataset, unique_id, person_key (the last run's keys) or is None.
    ``is_used`` says whether a key was ever issued (so a key is never reused).
    """
    if previous is None or previous.num_rows == 0:
        return _first_keys(clusters, is_used, make_key)
    records = list(
        zip(
            clusters.column("source_dataset").to_pylist(),
            clusters.column("unique_id").to_pylist(),
            strict=True,
        )
    )
    cluster_of = clusters.column("cluster").to_pylist()
    old_key: dict[tuple[str, str], str] = {}
    old_members: dict[str, int] = defaultdict(int)
    if previous is not None and previous.num_rows:
        for s, u, k in zip(
            previous.column("source_dataset").to_pylist(),
            previous.column("unique_id").to_pylist(),
            previous.column("person_key").to_pylist(),
            strict=True,
        ):
            old_key[(s, u)] = k
            old_members[k] += 1

    overlap: dict[tuple[int, str], int] = defaultdict(int)
    for record, c in zip(records, cluster_of, strict=True):
        key = old_key.get(record)
        if key is not None:
            overlap[(c, key)] += 1
    # Largest overlap first; ties to the older (smaller) key for determinism.
    ranked = sorted(overlap.items(), key=lambda item: (-item[1], item[0][1], item[0][0]))
    key_of_cluster: dict[int, str] = {}
    taken: set[str] = set()
    for (c, key), _count in ranked:
        if c in key_of_cluster or key in taken:
            continue
        key_of_cluster[c] = key
        taken.add(key)

    result = KeyAssignment(table=clusters)
    issued: set[str] = set()
    for c in dict.fromkeys(cluster_of):
        if c not in key_of_cluster:
            key = make_key()
            while key in issued or key in old_members or is_used(key):
                key = make_key()
            issued.add(key)
            key_of_cluster[c] = key
            result.created.append(key)
    result.kept = len(taken)
    result.retired = sorted(k for k in old_members if k not in taken)

    by_cluster_old: dict[int, set[str]] = defaultdict(set)
    by_old_cluster: dict[str, set[int]] = defaultdict(set)
    for c, key in overlap:
        by_cluster_old[c].add(key)
        by_old_cluster[key].add(c)
    for c, keys in by_cluster_old.items():
        if len(keys) > 1:
            kept = key_of_cluster[c]
            result.merges.append((kept, sorted(keys - {kept})))
    for key, cs in by_old_cluster.items():
        if len(cs) > 1:
            result.splits.append(
                (key, sorted(key_of_cluster[c] for c in cs if key_of_cluster[c] != key))
            )
    result.merges.sort()
    result.splits.sort()

    person_key = pa.array([key_of_cluster[c] for c in cluster_of], pa.string())
    result.table = pa.table(
        {
            "dataset": clusters.column("source_dataset"),
            "record_key": clusters.column("unique_id"),
            "person_key": person_key,
            "match_probability": clusters.column("match_probability"),
        }
    )
    return result


def _first_keys(
    clusters: pa.Table, is_used: Callable[[str], bool], make_key: Callable[[], str]
) -> KeyAssignment:
    """Keys when there is no previous run: every cluster gets a fresh key, in the order the
    clusters first appear (what the general path does with nothing to inherit)."""
    column = clusters.column("cluster")
    order = pc.unique(column)  # clusters in order of first appearance
    keys: list[str] = []
    issued: set[str] = set()
    drawn = iter(new_keys(len(order))) if make_key is new_key else iter(())
    for _ in range(len(order)):
        key = next(drawn, None) or make_key()
        while key in issued or is_used(key):
            key = make_key()
        issued.add(key)
        keys.append(key)
    person_key = pa.array(keys, pa.string()).take(pc.index_in(column, value_set=order))
    result = KeyAssignment(
        table=pa.table(
            {
                "dataset": clusters.column("source_dataset"),
                "record_key": clusters.column("unique_id"),
                "person_key": person_key,
                "match_probability": clusters.column("match_probability"),
            }
        ),
        created=keys,
    )
    return result


def keys_by_record(table: pa.Table) -> dict[tuple[str, str], str]:
    """{(dataset, record_key): person_key} from a keys table."""
    return dict(
        zip(
            zip(
                table.column("dataset").to_pylist(),
                table.column("record_key").to_pylist(),
                strict=True,
            ),
            table.column("person_key").to_pylist(),
            strict=True,
        )
    )


def as_previous(table: pa.Table) -> pa.Table:
    """A keys table in the shape :func:`assign_keys` takes as ``previous``."""
    return pa.table(
        {
            "source_dataset": table.column("dataset"),
            "unique_id": table.column("record_key"),
            "person_key": table.column("person_key"),
        }
    )


def cluster_size_distribution(table: pa.Table, column: str = "person_key") -> dict[int, int]:
    """{cluster size: number of clusters}."""
    counts = pc.value_counts(table.column(column)).field("counts").to_pylist()
    distribution: dict[int, int] = defaultdict(int)
    for n in counts:
        distribution[int(n)] += 1
    return dict(sorted(distribution.items()))

"""Person keys are stable across runs and never reused."""

from __future__ import annotations

import pyarrow as pa

from accord.linkage.keys import ALPHABET, as_previous, assign_keys, new_keys


def _clusters(groups: list[list[str]]) -> pa.Table:
    rows = [("s/d", r, i) for i, g in enumerate(groups) for r in g]
    return pa.table(
        {
            "source_dataset": [r[0] for r in rows],
            "unique_id": [r[1] for r in rows],
            "cluster": [r[2] for r in rows],
            "match_probability": [0.99] * len(rows),
        }
    )


def _key(table: pa.Table, record: str) -> str:
    return dict(
        zip(
            table.column("record_key").to_pylist(),
            table.column("person_key").to_pylist(),
            strict=True,
        )
    )[record]


def test_a_persisting_cluster_keeps_its_key_and_a_new_record_gets_a_new_one() -> None:
    first = assign_keys(_clusters([["1", "2"], ["3"]]), None)
    second = assign_keys(_clusters([["3"], ["1", "2"], ["4"]]), as_previous(first.table))
    assert _key(second.table, "1") == _key(first.table, "1")
    assert _key(second.table, "3") == _key(first.table, "3")
    assert second.created == [_key(second.table, "4")] and second.retired == []


def test_a_merge_keeps_the_larger_overlap_and_retires_the_other_key() -> None:
    first = assign_keys(_clusters([["1", "2"], ["3"]]), None)
    second = assign_keys(_clusters([["1", "2", "3"]]), as_previous(first.table))
    assert _key(second.table, "3") == _key(first.table, "1")
    assert second.retired == [_key(first.table, "3")]
    assert second.merges == [(_key(first.table, "1"), [_key(first.table, "3")])]


def test_a_split_keeps_the_key_for_one_part_and_records_the_other() -> None:
    first = assign_keys(_clusters([["1", "2", "3"]]), None)
    second = assign_keys(_clusters([["1", "2"], ["3"]]), as_previous(first.table))
    old = _key(first.table, "1")
    assert _key(second.table, "1") == old and _key(second.table, "3") != old
    assert second.splits == [(old, [_key(second.table, "3")])]


def test_a_retired_key_is_never_issued_again() -> None:
    issued = iter(["PAAAAAAAAAAAA", "PAAAAAAAAAAAA", "PBBBBBBBBBBBB"])
    first = assign_keys(_clusters([["1"]]), None, make_key=lambda: next(issued))
    second = assign_keys(
        _clusters([["9"]]),
        as_previous(first.table),
        is_used={"PAAAAAAAAAAAA"}.__contains__,
        make_key=lambda: next(issued),
    )
    assert _key(second.table, "9") == "PBBBBBBBBBBBB"


def test_a_first_run_gives_each_cluster_one_fresh_key_in_order_of_appearance() -> None:
    groups = [[str(10 * g + i) for i in range(g % 3 + 1)] for g in range(500)]
    table = _clusters(groups)
    # Records of one cluster far apart: a key belongs to the cluster, not to a run of rows.
    table = table.take(list(range(0, table.num_rows, 2)) + list(range(1, table.num_rows, 2)))
    first = assign_keys(table, None)
    keys = first.table.column("person_key").to_pylist()
    by_cluster: dict[int, set[str]] = {}
    for cluster, key in zip(table.column("cluster").to_pylist(), keys, strict=True):
        by_cluster.setdefault(cluster, set()).add(key)
    assert all(len(k) == 1 for k in by_cluster.values())
    assert len({next(iter(k)) for k in by_cluster.values()}) == 500
    assert all(k[0] == "P" and len(k) == 13 and set(k[1:]) <= set(ALPHABET) for k in keys)
    assert first.created == list(dict.fromkeys(keys))  # in order of first appearance
    assert first.kept == 0 and first.retired == [] and first.merges == [] and first.splits == []


def test_a_first_run_never_issues_a_key_already_used() -> None:
    used = set(new_keys(1))
    drawn = iter([*used, "PBBBBBBBBBBBB"])
    first = assign_keys(
        _clusters([["1"]]), None, is_used=used.__contains__, make_key=lambda: next(drawn)
    )
    assert first.created == ["PBBBBBBBBBBBB"]

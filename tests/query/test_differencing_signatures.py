"""Differencing with signatures finds exactly the nested cells the record-by-record method finds."""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from accord import Trust
from accord.query.differencing import find_differences
from accord.query.signatures import cell_signatures, may_nest
from tests.query.conftest import ANA, make_grant

THRESHOLD = 10
C = "camden.school_census"


def _hash(record: str) -> int:
    # the hash the trust keeps per record: md5 of "dataset|record_key", lower 64 bits
    return int.from_bytes(hashlib.md5(record.encode()).digest()[8:16], "little")


def _signature(records: set[str]) -> np.ndarray:
    hashes = np.array([_hash(r) for r in sorted(records)], dtype=np.uint64)
    return cell_signatures([(np.zeros(len(hashes), dtype=np.int64), hashes)], 1)[0]


def _exact(
    earlier: list[tuple[str, int, int, set[str]]], new: dict[int, set[str]], threshold: int
) -> set[int]:
    """The definition, record by record: nested either way and 0 < size gap < threshold."""
    found = set()
    for cell, records in new.items():
        if len(records) < threshold:
            continue
        for _rid, _cell, n, old in earlier:
            if 0 < abs(len(records) - n) < threshold and (records <= old or old <= records):
                found.add(cell)
    return found


def _with_signatures(
    earlier: list[tuple[str, int, int, set[str]]], new: dict[int, set[str]], threshold: int
) -> set[int]:
    old = {(rid, cell): records for rid, cell, _n, records in earlier}
    reads = []

    def old_records(rid: str, cell: int) -> pa.Array:
        reads.append((rid, cell))
        return pa.array(sorted(old[(rid, cell)]), pa.string())

    found = find_differences(
        [(rid, cell, n) for rid, cell, n, _records in earlier],
        {cell: len(records) for cell, records in new.items()},
        threshold,
        new_signature=lambda cell: _signature(new[cell]),
        new_records=lambda cell: pa.array(sorted(new[cell]), pa.string()),
        old_signature=lambda rid, cell: _signature(old[(rid, cell)]),
        old_records=old_records,
    )
    return set(found)


records = st.sets(st.integers(0, 60).map(lambda i: f"camden/census|P{i:03d}"), max_size=40)


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[tuple[str, int, int, set[str]]], dict[int, set[str]]]:
    base = draw(records)
    earlier = []
    for i in range(draw(st.integers(1, 5))):
        # earlier cells near the base set (so nested pairs are common) or unrelated
        removed = draw(st.sets(st.sampled_from(sorted(base)), max_size=12)) if base else set()
        added = draw(records) if draw(st.booleans()) else set()
        cell = (base - removed) | added
        earlier.append((f"rel-{i}", i % 3, len(cell), cell))
    new = {}
    for j in range(draw(st.integers(1, 4))):
        removed = draw(st.sets(st.sampled_from(sorted(base)), max_size=12)) if base else set()
        new[j] = (base - removed) | (draw(records) if draw(st.booleans()) else set())
    return earlier, new


@settings(max_examples=150, deadline=None)
@given(histories())
def test_signatures_find_the_same_nested_cells_as_the_exact_method(
    history: tuple[list[tuple[str, int, int, set[str]]], dict[int, set[str]]],
) -> None:
    earlier, new = history
    assert _with_signatures(earlier, new, THRESHOLD) == _exact(earlier, new, THRESHOLD)


@settings(max_examples=150, deadline=None)
@given(records, records)
def test_a_signature_never_clears_a_subset(a: set[str], extra: set[str]) -> None:
    b = a | extra
    assert may_nest(_signature(a), _signature(b))


def test_signatures_clear_unrelated_cells_without_reading_records() -> None:
    a = {f"camden/census|A{i}" for i in range(500)}
    b = {f"camden/census|B{i}" for i in range(495)}
    assert not may_nest(_signature(a), _signature(b))


def test_a_release_keeps_its_cells_signatures(sworld: Trust) -> None:
    release = sworld.queries.run(
        ANA, make_grant(), f"SELECT age_band, count(*) AS n FROM {C} GROUP BY 1"
    )
    sworld.queries.settle()  # written with the contributors, just after the answer left
    stored = sworld.queries.signatures.get(release.id)
    assert stored is not None and sorted(stored) == [0, 1]


def test_differencing_still_finds_a_nested_cell_across_releases(sworld: Trust) -> None:
    grant = make_grant()
    sworld.queries.run(ANA, grant, f"SELECT age_band, count(*) AS n FROM {C} GROUP BY 1")
    # the 11-16 cell less its 16-year-olds: the same people but a few
    second = sworld.queries.run(
        ANA,
        grant,
        f"SELECT age_band, count(*) AS n FROM {C} WHERE age < 16 AND age_band = '11-16' GROUP BY 1",
    )
    assert second.table.column("n").to_pylist() == [None]
    assert any("single out" in c.reason for c in second.changes)

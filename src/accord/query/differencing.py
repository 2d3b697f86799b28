"""The differencing check: two overlapping aggregates must not isolate a small group.

If a recipient was told that 57 pupils in a borough get free school meals and then asks the
same count for pupils aged over 5, the difference may single out a handful of people. So every
released aggregate cell is remembered per agreement and recipient: how many people it covered
(in the store), a min-hash signature of its records (``ID.cells.npz`` beside the release) and
who (the release's Parquet). A later cell whose records are a subset or a superset of an earlier
released cell's, differing by fewer than the minimum cell size, is suppressed, with the earlier
release named as the reason.

Three sieves keep it cheap, each unable to clear a pair that is really nested:

1. sizes: only pairs whose people counts differ by 1 to threshold - 1 are considered;
2. signatures: a pair whose min-hashes show neither cell can hold the other is cleared
   (:mod:`accord.query.signatures`) — almost every unrelated pair stops here;
3. records: what is left is compared record by record, on the new answer's contributors and
   the earlier cell's rows of its release Parquet.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import Select, bindparam, func, insert, literal, select
from sqlalchemy.orm import Session

from accord.query.models_db import AggregateCellRow, ReleaseRow
from accord.query.signatures import SCHEME, nest_candidates

if TYPE_CHECKING:
    from accord.trust import Trust

SEPARATOR = "\x1f"


@dataclass
class NewCells:
    """The cells of the answer being checked: signatures, and records on demand."""

    signatures: np.ndarray  # cells × K
    contributors: Callable[[], pa.Table]  # at least cell, dataset, record_key; made on demand

    def records(self, cell: int) -> pa.Array:
        table = self.contributors()
        return _records(pc.filter(table, pc.equal(table["cell"], cell)))


class Signatures:
    """Released cells' signatures, one small file per aggregate release, cached in memory."""

    def __init__(self, folder: Path, capacity: int = 4096) -> None:
        self.folder = folder
        self.capacity = capacity
        self._cache: OrderedDict[str, dict[int, np.ndarray] | None] = OrderedDict()

    def path(self, release_id: str) -> Path:
        return self.folder / f"{release_id}.cells.npz"

    def write(self, release_id: str, cells: list[int], signatures: np.ndarray) -> Path:
        target = self.path(release_id)
        partial = target.with_name(target.name + ".tmp.npz")
        np.savez(
            partial,
            cells=np.asarray(cells, dtype=np.int64),
            signatures=signatures[cells] if cells else signatures[:0],
            scheme=np.array(SCHEME),
        )
        partial.replace(target)
        return target

    def get(self, release_id: str) -> dict[int, np.ndarray] | None:
        """Cell -> signature of a release, or None where it has none (an older release)."""
        if release_id in self._cache:
            self._cache.move_to_end(release_id)
            return self._cache[release_id]
        found: dict[int, np.ndarray] | None = None
        path = self.path(release_id)
        if path.exists():
            with np.load(path) as data:
                if str(data["scheme"]) == SCHEME:
                    found = dict(zip(data["cells"].tolist(), data["signatures"], strict=True))
        if found is None:
            return None  # not kept: its signatures may still be written (a pending release)
        self._cache[release_id] = found
        while len(self._cache) > self.capacity:
            self._cache.popitem(last=False)
        return found


class EarlierCells:
    """The cells released before under each agreement to each member, kept in memory and
    brought up to date from the store on every question.

    Cells are only ever added (never changed or removed), so a kept list is complete exactly
    when it holds as many cells as the store does. One statement reads the store's count and
    the cells newer than the newest kept one; if the two do not add up (a cell committed late
    under a lower id by another process), the whole list is read again. A kept list can
    therefore never miss a cell: what the differencing check compares against is always all of
    them.
    """

    def __init__(self) -> None:
        self._kept: dict[tuple[str, str], tuple[int, list[tuple[str, int, int]]]] = {}
        self._lock = threading.Lock()

    def get(self, trust: Trust, agreement: str, member: str) -> list[tuple[str, int, int]]:
        """(release id, cell, people) of every cell released before under ``agreement`` to
        ``member``."""
        key = (agreement, member)
        with self._lock:
            newest, cells = self._kept.get(key, (0, []))
            with trust.store.sessions() as session:
                total, rows = _cells_after(session, agreement, member, newest)
                cells = cells + [(rid, cell, n) for _id, rid, cell, n in rows]
                if len(cells) != total:  # a late commit under a lower id: read them all again
                    total, rows = _cells_after(session, agreement, member, 0)
                    cells = [(rid, cell, n) for _id, rid, cell, n in rows]
            if rows:
                newest = max(newest, max(r[0] for r in rows))
            self._kept[key] = (newest, cells)
            return cells


def _cells_query() -> Select[Any]:
    """The count of released cells in scope, and those with an id above ``newest`` (one row of
    NULLs when there are none), as one statement built once."""
    cells = AggregateCellRow.__table__
    c = cells.c
    scope = (c.agreement == bindparam("agreement")) & (c.member == bindparam("member")) & c.released
    total = select(func.count()).select_from(cells).where(scope).scalar_subquery()
    return (
        select(total, c.id, c.release_id, c.cell, c.people)
        .select_from(select(literal(1).label("one")).subquery())
        .outerjoin(cells, scope & (c.id > bindparam("newest")))
    )


_CELLS_AFTER = _cells_query()


def _cells_after(
    session: Session, agreement: str, member: str, newest: int
) -> tuple[int, list[tuple[int, str, int, int]]]:
    """The number of released cells in scope and those with an id above ``newest``, in one
    statement (one snapshot of the store)."""
    found = (
        session.connection()
        .execute(_CELLS_AFTER, {"agreement": agreement, "member": member, "newest": newest})
        .all()
    )
    count = int(found[0][0]) if found else 0
    return count, [(i, r, c, n) for _t, i, r, c, n in found if i is not None]


def any_close(earlier: list[tuple[str, int, int]], people: dict[int, int], threshold: int) -> bool:
    """Whether any new cell needs comparing with an earlier one (the first sieve: sizes)."""
    if not earlier:
        return False
    sizes = np.unique(np.array([n for _r, _c, n in earlier], dtype=np.int64))
    for n in people.values():
        if n < threshold:
            continue
        low, high = np.searchsorted(sizes, [n - threshold + 1, n + threshold])
        if np.any(sizes[low:high] != n):
            return True
    return False


def differencing_reasons(
    trust: Trust,
    earlier: list[tuple[str, int, int]],
    new: NewCells,
    people: dict[int, int],
    threshold: int,
    signatures: Signatures,
) -> dict[int, str]:
    """Cells (index → reason) of a new answer that ``earlier`` released cells would expose."""
    paths: dict[str, Path] = {}

    def old_records(release_id: str, cell: int) -> pa.Array:
        if release_id not in paths:  # only releases whose records are compared are looked up
            with trust.store.sessions() as session:
                stored = session.scalar(
                    select(ReleaseRow.contributors_path).where(ReleaseRow.id == release_id)
                )
            paths[release_id] = trust.home / (stored or f"missing/{release_id}.parquet")
        return _old_records(paths[release_id], cell)

    return find_differences(
        earlier,
        people,
        threshold,
        new_signature=lambda cell: new.signatures[cell],
        new_records=new.records,
        old_signature=lambda rid, cell: (signatures.get(rid) or {}).get(cell),
        old_records=old_records,
    )


def find_differences(
    earlier: list[tuple[str, int, int]],
    people: dict[int, int],
    threshold: int,
    *,
    new_signature: Callable[[int], np.ndarray],
    new_records: Callable[[int], pa.Array],
    old_signature: Callable[[str, int], np.ndarray | None],
    old_records: Callable[[str, int], pa.Array],
) -> dict[int, str]:
    """The differencing decision over earlier released cells (release id, cell, people).

    A new cell of at least ``threshold`` people is suppressed when an earlier cell whose people
    count differs from it by 1 to ``threshold - 1`` holds its records or is held by them; the
    reason names the first such earlier cell (by release id, then cell). Signatures only skip
    record comparisons that cannot find a nested pair; a missing signature skips nothing.
    """
    if not earlier:
        return {}
    old_sizes = np.array([n for _r, _c, n in earlier], dtype=np.int64)
    order = np.array(
        sorted(range(len(earlier)), key=lambda i: (earlier[i][0], earlier[i][1])), dtype=np.int64
    )
    reasons: dict[int, str] = {}
    for cell in sorted(people):
        n = people[cell]
        if n < threshold:
            continue
        gaps = np.abs(old_sizes[order] - n)
        close = order[(gaps > 0) & (gaps < threshold)]
        if close.size == 0:
            continue
        signature = new_signature(cell)
        stored = [old_signature(earlier[i][0], earlier[i][1]) for i in close]
        known = [j for j, sig in enumerate(stored) if sig is not None]
        keep = np.ones(len(close), dtype=bool)
        if known:
            matrix = np.stack([stored[j] for j in known])  # type: ignore[misc]
            keep[known] = nest_candidates(signature, matrix)
        for i in close[keep]:
            release_id, old_cell, old_n = earlier[int(i)]
            if _nested(new_records(cell), old_records(release_id, old_cell)):
                reasons[cell] = (
                    f"with cell {old_cell + 1} of release {release_id} it would single out "
                    f"{abs(n - old_n)} people (fewer than {threshold})"
                )
                break
    return reasons


def record_cells(
    session: Session, release_id: str, agreement: str, member: str, people: dict[int, int]
) -> None:
    """Remember the released cells of an aggregate release (same unit of work as the release),
    in one statement rather than an ORM object per cell."""
    if not people:
        return
    session.connection().execute(
        insert(AggregateCellRow.__table__),
        [
            {
                "release_id": release_id,
                "agreement": agreement,
                "member": member,
                "cell": cell,
                "people": n,
                "released": True,
            }
            for cell, n in people.items()
        ],
    )


def _old_records(path: Path, cell: int) -> pa.Array:
    if not path.exists():
        return pa.array([], pa.string())
    table = pq.read_table(
        path, columns=["cell", "dataset", "record_key"], filters=[("cell", "=", cell)]
    )
    return _records(table)


def _records(table: pa.Table) -> pa.Array:
    joined = pc.binary_join_element_wise(
        table.column("dataset").cast(pa.string()), table.column("record_key"), SEPARATOR
    )
    return pc.unique(joined.combine_chunks() if isinstance(joined, pa.ChunkedArray) else joined)


def _nested(a: pa.Array, b: pa.Array) -> bool:
    """Whether one set of records holds the other (both distinct)."""
    if len(a) == 0 or len(b) == 0:
        return False
    shared = int(pc.sum(pc.is_in(a, value_set=b)).as_py() or 0)
    return shared in (len(a), len(b))


__all__ = [
    "EarlierCells",
    "NewCells",
    "Signatures",
    "any_close",
    "differencing_reasons",
    "find_differences",
    "record_cells",
]

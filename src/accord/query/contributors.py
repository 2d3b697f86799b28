"""Who contributed to an answer: from the sandbox's hidden row numbers to records and people.

The sandbox returns, per output row (record-level) or per cell (aggregate), the hidden row
numbers of the rows behind it. Each dataset's row numbers are ``offset + position`` in its
prepared view, so the trust finds each record by position — an array look-up on its side, with
no join and no Python loop. What it builds here is written to the release's Parquet file (cell,
dataset, version, record key, trust-wide person key) and counted.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from accord.core.engine.prepare import Prepared
from accord.query.release import CONTRIBUTORS_SCHEMA

DATASET_SHIFT = 40  # hidden row numbers: dataset index in the high bits, position in the low bits
NO_CELL = -1


@dataclass
class Source:
    """One dataset an answer read: its reference, version and prepared view."""

    ref: str
    version: int
    prepared: Prepared


@dataclass
class Part:
    """The contributions of one dataset: (cell, position) pairs, cell -1 where not known."""

    source: Source
    cells: np.ndarray
    positions: np.ndarray
    exclusive: bool = False  # each position in one cell at most (one dataset, no join)


@dataclass
class Contributors:
    """Everything the trust keeps about the people behind one answer."""

    parts: list[Part]
    _table: pa.Table | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def table(self) -> pa.Table:
        """(cell, dataset, version, record_key, person_key): the release's Parquet rows."""
        with self._lock:  # built once, though the writer and the differencing check both ask
            if self._table is None:
                self._table = self._build()
            return self._table

    def _build(self) -> pa.Table:
        tables = []
        for part in self.parts:
            n = len(part.positions)
            if n == 0:
                continue
            if part.exclusive:
                tables.append(_in_view_order(part))
                continue
            take = pa.array(part.positions)
            ids = part.source.prepared.identities
            cells = pa.array(part.cells, pa.int64())
            persons = ids.column("person_key")
            tables.append(
                pa.table(
                    {
                        "cell": pc.if_else(pc.equal(cells, NO_CELL), None, cells)
                        if (part.cells == NO_CELL).any()
                        else cells,
                        "dataset": pa.repeat(pa.scalar(part.source.ref), n),
                        "version": pa.repeat(pa.scalar(part.source.version, pa.int64()), n),
                        "record_key": ids.column("record_key").take(take),
                        "person_key": pa.nulls(n, pa.string())
                        if persons.null_count == len(persons)
                        else persons.take(take),
                    },
                    schema=CONTRIBUTORS_SCHEMA,
                )
            )
        if not tables:
            return CONTRIBUTORS_SCHEMA.empty_table()
        return pa.concat_tables(tables).combine_chunks()

    def people(self) -> int:
        """Distinct people: by trust-wide person key where linked, else by dataset record."""
        keyed: list[pa.Array] = []
        unkeyed = 0
        for part in self.parts:
            ids = part.source.prepared.identities
            seen = np.zeros(len(ids), dtype=bool)
            seen[part.positions] = True  # distinct positions without a sort
            unlinked = ids.column("person_key").null_count == len(ids)
            if unlinked and part.source.prepared.unique_records:
                unkeyed += int(np.count_nonzero(seen))  # one record, one person: just count
                continue
            positions = np.flatnonzero(seen)
            if unlinked:
                alone = positions
            else:
                person = ids.column("person_key").take(pa.array(positions))
                has_key = pc.is_valid(person)
                keyed.append(pc.filter(person, has_key))
                alone = positions[~has_key.to_numpy(zero_copy_only=False)]
            if part.source.prepared.unique_records:
                unkeyed += len(alone)
            else:
                unkeyed += pc.count_distinct(ids.column("record_key").take(pa.array(alone))).as_py()
        chunks = [c for k in keyed for c in (k.chunks if isinstance(k, pa.ChunkedArray) else [k])]
        persons = pc.count_distinct(pa.chunked_array(chunks, pa.string())).as_py() if chunks else 0
        return int(persons) + int(unkeyed)

    def signature_parts(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """(cell, record hash) per dataset, for :func:`accord.query.signatures.cell_signatures`."""
        out = []
        for part in self.parts:
            hashes = _numpy(part.source.prepared.identities.column("record_hash"))
            if (part.cells == NO_CELL).any():
                keep = part.cells != NO_CELL
                out.append((part.cells[keep], hashes[part.positions[keep]]))
            else:
                out.append((part.cells, hashes[part.positions]))
        return out


def _in_view_order(part: Part) -> pa.Table:
    """The rows of a part whose positions are distinct, in the view's own order: a scatter of
    cell numbers and a sequential filter, instead of gathering every key by position (an
    aggregate over a whole dataset then copies no key at all)."""
    ids = part.source.prepared.identities
    cell_of = np.full(len(ids), NO_CELL, dtype=np.int64)
    cell_of[part.positions] = part.cells
    present = cell_of != NO_CELL
    everyone = bool(present.all())
    n = int(present.sum())

    def kept(column: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
        return column if everyone else pc.filter(column, pa.array(present))

    persons = ids.column("person_key")
    return pa.table(
        {
            "cell": pa.array(cell_of if everyone else cell_of[present], pa.int64()),
            "dataset": pa.repeat(pa.scalar(part.source.ref), n),
            "version": pa.repeat(pa.scalar(part.source.version, pa.int64()), n),
            "record_key": kept(ids.column("record_key")),
            "person_key": pa.nulls(n, pa.string())
            if persons.null_count == len(persons)
            else kept(persons),
        },
        schema=CONTRIBUTORS_SCHEMA,
    )


def _numpy(column: pa.ChunkedArray) -> np.ndarray:
    """A NumPy view of a column without nulls (no copy when it is one chunk)."""
    if column.num_chunks == 1:
        return column.chunk(0).to_numpy(zero_copy_only=True)
    return column.to_numpy()


def split(
    columns: list[tuple[np.ndarray, np.ndarray]],
    sources: list[Source],
    *,
    unique: bool,
    exclusive: bool = False,
) -> Contributors:
    """(cells, hidden row numbers) per evidence column -> contributions per dataset.

    ``unique`` says each (cell, row) pair can occur only once (no joins duplicated a row);
    otherwise pairs are made distinct. ``exclusive`` says, further, that each row is in one
    cell at most (an aggregate over one dataset without joins).
    """
    if not columns:
        return Contributors([])
    if len(columns) == 1:
        cells, rows = (np.asarray(a, dtype=np.int64) for a in columns[0])
    else:
        cells = np.concatenate([np.asarray(c, dtype=np.int64) for c, _ in columns])
        rows = np.concatenate([np.asarray(r, dtype=np.int64) for _, r in columns])
    by_offset = {s.prepared.offset >> DATASET_SHIFT: s for s in sources}
    if len(sources) == 1:
        groups = [(sources[0], cells, rows)]
    else:
        which = rows >> DATASET_SHIFT
        groups = []
        for index in np.flatnonzero(np.bincount(which)):
            mask = which == index
            groups.append((by_offset[int(index)], cells[mask], rows[mask]))
    parts = []
    for source, part_cells, part_rows in groups:
        positions = part_rows - source.prepared.offset
        if not unique or len(columns) > 1:
            size = max(len(source.prepared.identities), 1)
            key = (part_cells + 1) * size + positions
            _, first = np.unique(key, return_index=True)
            first.sort()
            part_cells, positions = part_cells[first], positions[first]
        parts.append(Part(source, part_cells, positions, exclusive=exclusive))
    return Contributors(parts)


def write(table: pa.Table, path: Path) -> None:
    """Write a release's contributors (zstd; dictionaries only where values repeat). Written
    beside and then renamed, so a reader never finds half a file."""
    partial = path.with_name(path.name + ".partial")
    pq.write_table(
        table,
        partial,
        compression="zstd",
        compression_level=1,
        use_dictionary=["dataset", "version"],
        # Keys come out nearly in order (by cell, then by row): delta encodings store the
        # shared prefixes once, which is both smaller and quicker than compressing them whole.
        column_encoding={
            "cell": "DELTA_BINARY_PACKED",
            "record_key": "DELTA_BYTE_ARRAY",
            "person_key": "DELTA_BYTE_ARRAY",
        },
        row_group_size=128 * 1024,
    )
    partial.replace(path)


def from_lineage(
    lineage: pa.Table,
    keys: list[str],
    counts: list[int],
    columns: tuple[list[str], str, str],
    source: Source,
) -> Contributors:
    """The contributors of an answer's cells from its lineage query (see
    :mod:`accord.policy.instrument`): ``lineage`` has, per cell of the same grouping, its group
    key, its row count and its rows (``columns`` names them). Answer cell ``i`` is the lineage
    cell whose key is ``keys[i]`` (:func:`cell_keys`); it must hold exactly ``counts[i]`` rows,
    or the lineage is not the answer's and nothing is returned."""
    key_names, count_name, rows_name = columns
    where = {key: j for j, key in enumerate(cell_keys(lineage, key_names))}
    found = lineage.column(count_name).to_pylist()
    order, cells = [], []
    for cell, (key, count) in enumerate(zip(keys, counts, strict=True)):
        j = where.get(key)
        if j is None or int(found[j] or 0) != int(count):
            raise ValueError(f"cell {cell} ({count} rows, key {key}) is not in the lineage")
        if count:
            order.append(j)
            cells.append(cell)
    if not order:
        return Contributors([])
    taken = lineage.column(rows_name).combine_chunks().take(pa.array(order, pa.int64()))
    rows = pc.list_flatten(taken).to_numpy()
    parents = np.asarray(pc.list_parent_indices(taken).to_numpy(), dtype=np.int64)
    cell_of = np.asarray(cells, dtype=np.int64)[parents]
    return split([(cell_of, rows)], [source], unique=True, exclusive=True)


def cell_keys(table: pa.Table, names: list[str]) -> list[str]:
    """Each row's group key as text (``repr`` of the values: NaN equals NaN, dates stay dates)."""
    columns = [table.column(n).to_pylist() for n in names]
    return [repr(values) for values in zip(*columns, strict=True)] if names else ["()"] * len(table)


__all__ = ["Contributors", "Part", "Source", "cell_keys", "from_lineage", "split", "write"]

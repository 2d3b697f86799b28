"""A new record's candidates in a linked population: the run's blocking rules as look-ups.

The full run scores a pair when the two records agree on every key of at least one blocking
rule. For one arriving record those pairs are the population's rows whose keys equal the
record's on some rule, so each rule becomes a look-up: its keys (plain columns or prefixes, as
text, joined) are hashed once per row (a row with a missing key is left out, as SQL equality
leaves it out) and kept sorted, and a look-up is a binary search. The keys of the one new record
are worked out in Python the same way, without a query. Two different keys hash alike with odds
of about one in 10^13 at a million records; such a row would only be scored as one more
candidate.

Records that arrive after the index was built are kept beside it, indexed the same way, and a
record that arrives again replaces its earlier version.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from accord.linkage import blocking

_EQ = re.compile(r"^\s*l\.(\w+)\s*=\s*r\.(\w+)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Lookup:
    """One blocking rule as equalities: (population expression, new-record expression)."""

    pairs: tuple[tuple[str, str], ...]


def lookups(rules: list[blocking.BlockingTemplate]) -> list[Lookup]:
    """Each blocking rule as equalities between the population and a new record.

    Examples:
        >>> [r for r in blocking.REGISTRY if r.name == "swapped"][0].sql
        'l.given_name = r.family_name AND l.family_name = r.given_name'
        >>> [x.pairs for x in lookups([r for r in blocking.REGISTRY if r.name == "swapped"])]
        [(('given_name', 'family_name'), ('family_name', 'given_name')), \
(('family_name', 'given_name'), ('given_name', 'family_name'))]
    """
    result: list[Lookup] = []
    for rule in rules:
        if rule.sql is None:
            result.append(Lookup(tuple((c, c) for c in rule.columns)))
            continue
        parts = [_EQ.match(p) for p in re.split(r"\s+AND\s+", rule.sql, flags=re.IGNORECASE)]
        if not all(parts):
            continue
        forward = tuple((m.group(1), m.group(2)) for m in parts if m)
        backward = tuple((m.group(2), m.group(1)) for m in parts if m)
        result.append(Lookup(forward))
        if backward != forward:
            result.append(Lookup(backward))
    return result


_SUBSTR = re.compile(r"^substr\((\w+),\s*(\d+),\s*(\d+)\)$", re.IGNORECASE)
_SEP = "\x1f"  # between the parts of a key (never inside prepared values)


def _column_values(table: pa.Table, expression: str) -> pa.ChunkedArray | None:
    """A key expression over a table, as text; None for an expression it cannot read."""
    if re.fullmatch(r"\w+", expression):
        return pc.cast(table.column(expression), pa.string())
    match = _SUBSTR.match(expression)
    if match:
        start, length = int(match.group(2)) - 1, int(match.group(3))
        values = pc.cast(table.column(match.group(1)), pa.string())
        return pc.utf8_slice_codeunits(values, start=start, stop=start + length)
    return None


def _key_hashes(table: pa.Table, expressions: list[str]) -> list[int | None] | None:
    """Python hashes of each row's key (the parts joined), None where a part is missing (SQL
    equality never matches a missing key); None for a rule it cannot read."""
    parts = [_column_values(table, e) for e in expressions]
    if any(p is None for p in parts):
        return None
    keys = pc.binary_join_element_wise(*parts, _SEP) if len(parts) > 1 else parts[0]
    return [None if k is None else hash(k) for k in keys.to_pylist()]


def _id_hashes(table: pa.Table) -> list[int | None] | None:
    return _key_hashes(table, ["source_dataset", "unique_id"])


class CandidateIndex:
    """The population's rows by blocking key, for one record at a time.

    Examples:
        >>> index = CandidateIndex(population, lookups(rules))  # doctest: +SKIP
        >>> index.find(record).num_rows  # doctest: +SKIP
        17
    """

    def __init__(self, population: pa.Table, rules: list[Lookup]) -> None:
        self.population = population.combine_chunks()
        self.schema = self.population.schema
        # A rule whose keys are not plain columns or prefixes finds nothing (as before).
        self.rules = [
            r
            for r in rules
            if all(_column_values(population.slice(0, 0), p) is not None for p, _ in r.pairs)
        ]
        self._sorted: list[tuple[np.ndarray, np.ndarray]] = []
        for rule in self.rules:
            self._sorted.append(_sorted(_key_hashes(self.population, [p for p, _ in rule.pairs])))
        self._ids = _sorted(_id_hashes(self.population))
        self.removed = np.zeros(self.population.num_rows, dtype=bool)
        # Rows that arrived after the build, indexed in dicts.
        self.added: list[pa.Table] = []
        self._added_keys: dict[tuple[int, int], list[int]] = defaultdict(list)
        self._added_ids: dict[tuple[str, str], int] = {}
        self._added_removed: set[int] = set()

    def _keys(self, record: pa.Table, side: int) -> list[int | None]:
        """The record's key hash for each rule, as a new record (side 1) or a population row
        (side 0)."""
        result = []
        for rule in self.rules:
            hashes = _key_hashes(record, [pair[side] for pair in rule.pairs])
            result.append(hashes[0] if hashes else None)
        return result

    def find(self, record: pa.Table) -> pa.Table:
        """Population rows sharing all keys of some blocking rule with ``record`` (one row)."""
        found: list[np.ndarray] = []
        added: set[int] = set()
        for i, key in enumerate(self._keys(record, 1)):
            if key is None:
                continue
            found.append(_matching(self._sorted[i], key))
            added.update(self._added_keys.get((i, key), ()))
        rows = np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)
        rows = rows[~self.removed[rows]]
        parts = [self.population.take(pa.array(rows))]
        parts += [self.added[j] for j in sorted(added - self._added_removed)]
        return pa.concat_tables(parts) if len(parts) > 1 else parts[0]

    def position(self, dataset: str, key: str) -> int | None:
        """Row number of (dataset, key) in the built population, if it is there."""
        sources, ids = self.population.column("source_dataset"), self.population.column("unique_id")
        for row in _matching(self._ids, hash(f"{dataset}{_SEP}{key}")).tolist():
            if not self.removed[row] and (sources[row].as_py(), str(ids[row].as_py())) == (
                dataset,
                key,
            ):
                return int(row)
        return None

    def add(self, row: pa.Table) -> pa.Table | None:
        """Add one row (population columns, person_key included); returns the earlier version
        of the same record when it replaces one."""
        dataset = row.column("source_dataset")[0].as_py()
        key = str(row.column("unique_id")[0].as_py())
        earlier = None
        position = self.position(dataset, key)
        if position is not None:
            self.removed[position] = True
            earlier = self.population.slice(position, 1)
        previous = self._added_ids.pop((dataset, key), None)
        if previous is not None:
            self._added_removed.add(previous)
            earlier = self.added[previous]
        self.added.append(row.select(self.schema.names).cast(self.schema))
        j = len(self.added) - 1
        self._added_ids[(dataset, key)] = j
        for i, value in enumerate(self._keys(row, 0)):
            if value is not None:
                self._added_keys[(i, value)].append(j)
        return earlier


def _sorted(hashes: list[int | None] | None) -> tuple[np.ndarray, np.ndarray]:
    """(sorted hashes, their row numbers), rows with a missing key left out."""
    if not hashes:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    values = np.array([0 if h is None else h for h in hashes], dtype=np.int64)
    rows = np.flatnonzero(np.array([h is not None for h in hashes], dtype=bool))
    values = values[rows]
    order = np.argsort(values, kind="stable")
    return values[order], rows[order]


def _matching(index: tuple[np.ndarray, np.ndarray], key: int) -> np.ndarray:
    values, rows = index
    lo = np.searchsorted(values, key, side="left")
    hi = np.searchsorted(values, key, side="right")
    return rows[lo:hi]

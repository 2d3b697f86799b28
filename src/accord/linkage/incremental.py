"""Matching records one by one against existing people, without a full re-run.

A record arriving by upsert is prepared like any other, its candidates are looked up with the
same blocking rules (each rule an indexed lookup in the population), scored with the run's
model (Splink's real-time ``compare_records``, SQL built once and cached), and it joins the
person of its best link, or becomes a new person with a review entry when the best link is
doubtful. The population grows as records arrive, so a second record of the same new person
finds the first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from accord.catalogue.contract import Role
from accord.linkage import blocking
from accord.linkage.keys import new_key
from accord.linkage.prepare import prepare
from accord.linkage.scoring import Scorer
from accord.linkage.source import LinkSource

_EQ = re.compile(r"^\s*l\.(\w+)\s*=\s*r\.(\w+)\s*$", re.IGNORECASE)


@dataclass
class Match:
    """Where a new record went."""

    dataset: str
    record_key: str
    person_key: str
    match_probability: float | None
    matched: tuple[str, str] | None  # (dataset, record_key) of its best link
    review: bool  # True when the best link is doubtful and awaits a reviewer


@dataclass(frozen=True)
class _Lookup:
    pairs: tuple[tuple[str, str], ...]  # (population expression, new-record expression)


def lookups(rules: list[blocking.BlockingTemplate]) -> list[_Lookup]:
    """Each blocking rule as equalities between the population and a new record."""
    result: list[_Lookup] = []
    for rule in rules:
        if rule.sql is None:
            result.append(_Lookup(tuple((c, c) for c in rule.columns)))
            continue
        parts = [_EQ.match(p) for p in re.split(r"\s+AND\s+", rule.sql, flags=re.IGNORECASE)]
        if not all(parts):
            continue
        forward = tuple((m.group(1), m.group(2)) for m in parts if m)
        backward = tuple((m.group(2), m.group(1)) for m in parts if m)
        result.append(_Lookup(forward))
        if backward != forward:
            result.append(_Lookup(backward))
    return result


class IncrementalMatcher:
    """Match new records against a linked population.

    ``population`` is the prepared records of the last run with a ``person_key`` column.

    Examples:
        >>> matcher = IncrementalMatcher(
        ...     model, tf, population, roles, rules, duplicate_free=set()
        ... )  # doctest: +SKIP
        >>> matcher.match(source, new_rows)[0].person_key  # doctest: +SKIP
        'P4Q7...'
    """

    def __init__(
        self,
        model: dict[str, Any],
        tf: pa.Table | None,
        population: pa.Table,
        roles: set[Role],
        rules: list[blocking.BlockingTemplate],
        *,
        duplicate_free: set[str],
        link_threshold: float,
        review_floor: float,
        is_used: Any = lambda key: False,
    ) -> None:
        self.scorer = Scorer(model, tf)
        self.roles = roles
        self.duplicate_free = duplicate_free
        self.link_threshold = link_threshold
        self.review_floor = review_floor
        self.is_used = is_used
        self.con = duckdb.connect()
        self.con.register("__pop_arrow", population)
        self.con.execute("CREATE TABLE pop AS SELECT * FROM __pop_arrow")
        self.con.unregister("__pop_arrow")
        self.columns = [c for c in population.column_names]
        self.lookups = lookups(rules)
        indexed: set[str] = set()
        for lookup in self.lookups:
            first = lookup.pairs[0][0]
            if re.fullmatch(r"\w+", first) and first not in indexed:
                self.con.execute(f'CREATE INDEX "ix_{first}" ON pop ("{first}")')
                indexed.add(first)
        self.con.execute("CREATE INDEX ix_person ON pop (person_key)")
        self._prepare_con = duckdb.connect()

    def candidates(self, record: pa.Table) -> pa.Table:
        """Population records sharing any blocking key with ``record`` (one prepared row)."""
        row = record.to_pylist()[0]
        selects, params = [], []
        for lookup in self.lookups:
            conditions = []
            for pop_expr, new_expr in lookup.pairs:
                value = self._value(new_expr, row)
                if value is None:
                    break
                conditions.append(f"{pop_expr} = ?")
                params.append(value)
            else:
                selects.append(f"SELECT * FROM pop WHERE {' AND '.join(conditions)}")
                continue
            # a missing key: this rule finds nothing; drop the params it added
            del params[len(params) - len(conditions) :]
        if not selects:
            return self.con.sql("SELECT * FROM pop LIMIT 0").to_arrow_table()
        sql = " UNION ".join(selects)
        return self.con.execute(sql, params).to_arrow_table()  # parameters need execute()

    def _value(self, expr: str, row: dict[str, Any]) -> Any:
        if re.fullmatch(r"\w+", expr):
            return row.get(expr)
        match = re.fullmatch(r"substr\((\w+),\s*(\d+),\s*(\d+)\)", expr)
        if match:
            value = row.get(match.group(1))
            if value is None:
                return None
            start, length = int(match.group(2)), int(match.group(3))
            return value[start - 1 : start - 1 + length]
        return None

    def match(self, source: LinkSource, rows: pa.Table | None = None) -> list[Match]:
        """Match each of ``rows`` (raw rows of ``source``; all its rows when None)."""
        if rows is not None:
            source = LinkSource(source.ref, source.contract, rows, source.encodings)
        prepared = prepare(source, self.roles, self._prepare_con).table
        results = []
        for i in range(prepared.num_rows):
            results.append(self._match_one(prepared.slice(i, 1)))
        return results

    def lookup(self, source: LinkSource) -> list[tuple[str, float]]:
        """(person key, best probability) for each person a record could be, best first;
        the record is not added to the population."""
        prepared = prepare(source, self.roles, self._prepare_con).table
        best: dict[str, float] = {}
        for i in range(prepared.num_rows):
            found, scored = self._scored(prepared.slice(i, 1))
            for p, j in scored:
                person = found.column("person_key")[j].as_py()
                best[person] = max(best.get(person, 0.0), p)
        return sorted(best.items(), key=lambda item: -item[1])

    def _scored(self, record: pa.Table) -> tuple[pa.Table, list[tuple[float, int]]]:
        """Candidates of ``record`` and (probability, candidate row) for each."""
        dataset = record.column("source_dataset")[0].as_py()
        key = record.column("unique_id")[0].as_py()
        found = self.candidates(record)
        # An update of a record already linked is compared with everyone but itself.
        sources = found.column("source_dataset").to_pylist()
        ids = found.column("unique_id").to_pylist()
        keep = [i for i in range(found.num_rows) if (sources[i], ids[i]) != (dataset, key)]
        if len(keep) != found.num_rows:
            found = found.take(keep)
            sources = [sources[i] for i in keep]
            ids = [ids[i] for i in keep]
        if not found.num_rows:
            return found, []
        scored = self.scorer.score(
            record.select(self._record_columns(record)), found.select(self._record_columns(found))
        )
        index = {(s, str(u)): i for i, (s, u) in enumerate(zip(sources, ids, strict=True))}
        src_r = (
            scored.column("source_dataset_r").to_pylist()
            if "source_dataset_r" in scored.column_names
            else [sources[0]] * scored.num_rows
        )
        result = []
        for p, s, u in zip(
            scored.column("match_probability").to_pylist(),
            src_r,
            scored.column("unique_id_r").to_pylist(),
            strict=True,
        ):
            i = index.get((s, str(u)))
            if i is not None and p is not None:
                result.append((float(p), i))
        return found, result

    def _match_one(self, record: pa.Table) -> Match:
        dataset = record.column("source_dataset")[0].as_py()
        key = record.column("unique_id")[0].as_py()
        found, scored = self._scored(record)
        best: tuple[float, int] | None = None
        holders = self._holders(found) if scored and dataset in self.duplicate_free else set()
        for p, i in scored:
            person = found.column("person_key")[i].as_py()
            # A duplicate-free source holds a person once: never join a person who already
            # has another record from this record's source.
            if (person, dataset) in holders:
                continue
            if best is None or p > best[0]:
                best = (p, i)
        if best is not None and best[0] >= self.link_threshold:
            i = best[1]
            person = found.column("person_key")[i].as_py()
            matched = (
                found.column("source_dataset")[i].as_py(),
                found.column("unique_id")[i].as_py(),
            )
            result = Match(dataset, key, person, best[0], matched, False)
        else:
            person = new_key()
            while self.is_used(person):
                person = new_key()
            review = best is not None and best[0] >= self.review_floor
            matched = None
            if best is not None and review:
                i = best[1]
                matched = (
                    found.column("source_dataset")[i].as_py(),
                    found.column("unique_id")[i].as_py(),
                )
            result = Match(
                dataset, key, person, best[0] if review and best else None, matched, review
            )
        self._add(record, result.person_key)
        return result

    def _holders(self, found: pa.Table) -> set[tuple[str, str]]:
        persons = list(set(found.column("person_key").to_pylist()))
        if not persons:
            return set()
        rows = self.con.execute(
            "SELECT DISTINCT person_key, source_dataset FROM pop "
            "WHERE person_key IN (SELECT unnest(?))",
            [persons],
        ).fetchall()
        return {(p, d) for p, d in rows}

    def _record_columns(self, table: pa.Table) -> list[str]:
        return [c for c in table.column_names if c != "person_key"]

    def _add(self, record: pa.Table, person_key: str) -> None:
        dataset = record.column("source_dataset")[0].as_py()
        key = record.column("unique_id")[0].as_py()
        self.con.execute(
            "DELETE FROM pop WHERE source_dataset = ? AND unique_id = ?", [dataset, key]
        )
        row = record.append_column("person_key", pa.array([person_key], pa.string()))
        self.con.register("__new", row.select(self.columns))
        self.con.execute("INSERT INTO pop SELECT * FROM __new")
        self.con.unregister("__new")

"""Matching records one by one against existing people, without a full re-run.

A record arriving by upsert is prepared like any other, its candidates are looked up with the
same blocking rules (each rule a hash look-up in the population, see candidates.py), scored
all at once with the run's model (Splink's real-time scoring SQL, built once, see scoring.py),
and it joins the person of its best link, or becomes a new person with a review entry when the
best link is doubtful. The population grows as records arrive, so a second record of the same
new person finds the first.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from accord.catalogue.contract import Role
from accord.linkage import blocking
from accord.linkage.candidates import CandidateIndex, lookups
from accord.linkage.keys import new_key
from accord.linkage.prepare import prepare
from accord.linkage.scoring import Scorer
from accord.linkage.source import LinkSource


@dataclass
class Match:
    """Where a new record went."""

    dataset: str
    record_key: str
    person_key: str
    match_probability: float | None
    matched: tuple[str, str] | None  # (dataset, record_key) of its best link
    review: bool  # True when the best link is doubtful and awaits a reviewer


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
        self.scorer = Scorer(model, tf, many_calls=True)
        self.roles = roles
        self.duplicate_free = duplicate_free
        self.link_threshold = link_threshold
        self.review_floor = review_floor
        self.is_used = is_used
        self.index = CandidateIndex(population, lookups(rules))
        # How many records each person holds in each duplicate-free source (best-link rule).
        self._held: Counter[tuple[str, str]] = Counter()
        if duplicate_free:
            rows = population.filter(
                pc.is_in(population.column("source_dataset"), pa.array(sorted(duplicate_free)))
            )
            self._held.update(
                zip(
                    rows.column("person_key").to_pylist(),
                    rows.column("source_dataset").to_pylist(),
                    strict=True,
                )
            )
        self._prepare_con = duckdb.connect()
        # Seconds spent in each step, summed over the records matched (see timings()).
        self._seconds: dict[str, float] = defaultdict(float)
        self._matched = 0

    def timings(self) -> dict[str, float]:
        """Mean milliseconds per record in each step (prepare, candidates, score, decide)."""
        n = max(self._matched, 1)
        return {step: 1000 * seconds / n for step, seconds in self._seconds.items()}

    def candidates(self, record: pa.Table) -> pa.Table:
        """Population records sharing all keys of some blocking rule with ``record`` (one
        prepared row)."""
        return self.index.find(record)

    def match(self, source: LinkSource, rows: pa.Table | None = None) -> list[Match]:
        """Match each of ``rows`` (raw rows of ``source``; all its rows when None)."""
        if rows is not None:
            source = LinkSource(source.ref, source.contract, rows, source.encodings)
        clock = time.perf_counter()
        prepared = prepare(source, self.roles, self._prepare_con).table
        self._seconds["prepare"] += time.perf_counter() - clock
        results = []
        for i in range(prepared.num_rows):
            results.append(self._match_one(prepared.slice(i, 1)))
        self._matched += prepared.num_rows
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
        clock = time.perf_counter()
        found = self.candidates(record)
        self._seconds["candidates"] += time.perf_counter() - clock
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
        clock = time.perf_counter()
        scored = self.scorer.score(
            record.select(self._record_columns(record)), found.select(self._record_columns(found))
        )
        self._seconds["score"] += time.perf_counter() - clock
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
        clock = time.perf_counter()
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
        self._seconds["decide"] += time.perf_counter() - clock
        return result

    def _holders(self, found: pa.Table) -> set[tuple[str, str]]:
        persons = set(found.column("person_key").to_pylist())
        return {(p, d) for p in persons for d in self.duplicate_free if self._held[(p, d)] > 0}

    def _record_columns(self, table: pa.Table) -> list[str]:
        return [c for c in table.column_names if c != "person_key"]

    def _add(self, record: pa.Table, person_key: str) -> None:
        row = record.append_column("person_key", pa.array([person_key], pa.string()))
        earlier = self.index.add(row)
        dataset = record.column("source_dataset")[0].as_py()
        if dataset in self.duplicate_free:
            if earlier is not None:  # the record's earlier version leaves its person
                self._held[(earlier.column("person_key")[0].as_py(), dataset)] -= 1
            self._held[(person_key, dataset)] += 1

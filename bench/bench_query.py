"""Benchmark: a checked, sandboxed, disclosure-controlled query against raw DuckDB.

    python bench/bench_query.py [--rows 10000000] [--repeat 5] [--releases 1000 --people 100000]

Builds a trust with one census-like dataset of ``--rows`` rows (ingested as a normal version),
then times, on the same Parquet file:

* a typical aggregate (count by borough and age band) and a typical record-level extract
  (names and addresses of one borough's FSM pupils), on raw DuckDB and through
  ``trust.queries`` (cold: first query of a grant, which prepares the granted view; warm: later
  queries, which reuse it; both include writing the release and its contributors). Raw and
  warm runs alternate, one right after the other, so a busy machine slows both alike; wall and
  CPU time (all threads of the process) are reported, and the ratio is the median of the
  per-pair ratios;
* the policy decision alone (lock 1, lineage, the instrumented plan and the output rules), as
  first decided and as decided again for a repeated question;
* the release index: which of ``--releases`` releases of ``--people`` people each touched one
  person (the look-up behind the citizen report and ``releases_touching``), on synthetic
  contributors files.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from accord import Trust
from accord.policy.grant import AccessGrant, DatasetGrant, OutputRules
from accord.policy.instrument import instrument
from accord.policy.lineage import output_lineage
from accord.policy.sql_check import check_query
from accord.query.contributors import write
from accord.query.release import CONTRIBUTORS_SCHEMA
from accord.query.release_index import ReleaseIndex
from accord.query.service import _check_output_allowed

REF = "camden/census"
CONTRACT = {
    "name": "census",
    "owner": "camden",
    "title": "Census-like benchmark table",
    "schema": {
        "primaryKey": ["upn"],
        "fields": [
            {"name": "upn", "accord": {"category": "personal", "role": "record_id"}},
            {"name": "given_name", "accord": {"category": "personal", "role": "given_name"}},
            {"name": "family_name", "accord": {"category": "personal", "role": "family_name"}},
            {"name": "address", "accord": {"category": "personal", "role": "address"}},
            {"name": "borough"},
            {"name": "age_band"},
            {"name": "fsm", "type": "boolean"},
            {"name": "attendance", "type": "number"},
        ],
    },
}
AGG = "SELECT borough, age_band, count(*) AS n FROM {t} GROUP BY borough, age_band"
EXTRACT = (
    "SELECT upn, given_name, family_name, address FROM {t} WHERE borough = 'islington' AND fsm"
)


def make_table(rows: int) -> pa.Table:
    connection = duckdb.connect()
    return connection.sql(
        f"""
        SELECT 'P' || lpad(i::VARCHAR, 9, '0') AS upn,
               ['Amira','Ben','Chloe','Dev','Ewa','Femi'][1 + i % 6] AS given_name,
               ['Khan','Smith','Nowak','Okafor','Jones'][1 + (i // 7) % 5] AS family_name,
               (i % 997)::VARCHAR || ' Example Street' AS address,
               ['camden','islington','hackney','haringey','westminster'][1 + (i // 3) % 5]
                   AS borough,
               ['0-4','5-10','11-16','17-24','25-64','65+'][1 + (i // 11) % 6] AS age_band,
               (hash(i) % 5 = 0) AS fsm,
               80 + (hash(i * 7) % 200) / 10.0 AS attendance
        FROM range({rows}) r(i)
        """
    ).to_arrow_table()


def timed(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def paired(
    raw: Callable[[], object],
    accord: Callable[[], object],
    repeat: int,
    settle: Callable[[], object],
) -> dict[str, float]:
    """Median wall and CPU seconds of each, alternating runs; and the median per-pair ratio.

    ``settle`` (listing the contributors of a release that left before they were listed) runs
    after each Accord run, timed on its own: it is not in the Accord figure, and it never runs
    while the next pair is timed."""
    out: dict[str, list[float]] = {
        "raw": [],
        "raw_cpu": [],
        "accord": [],
        "accord_cpu": [],
        "settle": [],
        "settle_cpu": [],
    }
    ratios = []
    for _ in range(repeat):
        for name, fn in (("raw", raw), ("accord", accord), ("settle", settle)):
            wall, cpu = time.perf_counter(), time.process_time()
            fn()
            out[name].append(time.perf_counter() - wall)
            out[f"{name}_cpu"].append(time.process_time() - cpu)
        ratios.append(out["accord"][-1] / out["raw"][-1])
    result = {k: statistics.median(v) for k, v in out.items()}
    result["ratio"] = statistics.median(ratios)
    result["cpu_ratio"] = result["accord_cpu"] / result["raw_cpu"]
    return result


def bench_index(folder: Path, releases: int, people: int) -> tuple[float, float, float, int]:
    """(indexing, first search, repeated search) seconds to find the releases touching one
    person among ``releases`` synthetic releases of ``people`` person keys each (contributors
    Parquet files as the query service writes them); and how many were found."""
    rng = np.random.default_rng(7)
    folder.mkdir(parents=True, exist_ok=True)
    target = "PK-bench-person"
    rows = []
    for i in range(releases):
        release_id = f"rel-bench-{i:05d}"
        keys = pc.binary_join_element_wise(
            "PK-", pa.array(rng.integers(0, 2**40, size=people)).cast(pa.string()), ""
        )
        if i % 20 == 0:  # one release in twenty used the person
            keys = pa.concat_arrays([pa.array([target]), keys.slice(1)])
        path = folder / f"{release_id}.parquet"
        table = pa.table(
            {
                "cell": pa.array(np.zeros(people, dtype=np.int64)),
                "dataset": pa.array(["camden/census"] * people),
                "version": pa.array(np.ones(people, dtype=np.int64)),
                "record_key": keys,
                "person_key": keys,
            }
        )
        write(table.cast(CONTRIBUTORS_SCHEMA), path)
        rows.append((release_id, path))
    index = ReleaseIndex(folder / "index")
    start = time.perf_counter()
    index.refresh(rows)
    indexing = time.perf_counter() - start
    fresh = ReleaseIndex(folder / "index")
    start = time.perf_counter()
    found = fresh.touching(rows, person_keys=[target])
    first = time.perf_counter() - start
    again = timed(lambda: fresh.touching(rows, person_keys=[target]), 5)
    return indexing, first, again, len(found)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--releases", type=int, default=1000)
    parser.add_argument("--people", type=int, default=100_000)
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp()) / "home"
    trust = Trust.init(home, actor="bench")
    trust.catalogue.add_member("camden", "Camden")
    trust.catalogue.add_member("islington", "Islington")
    trust.catalogue.add_user("ana@islington.test", "islington", ["analyst"])
    trust.catalogue.register_dataset(CONTRACT)
    start = time.perf_counter()
    trust.ingest.ingest(REF, make_table(args.rows))
    print(f"rows: {args.rows:,}; ingest: {time.perf_counter() - start:.1f} s")
    parquet = trust.ingest.version_path(REF)
    fields = frozenset(f["name"] for f in CONTRACT["schema"]["fields"])
    grant = AccessGrant(
        agreement_id="bench",
        agreement_version=1,
        purpose="service-planning",
        recipient="islington",
        datasets={REF: DatasetGrant(REF, fields)},
        outputs=OutputRules(
            record_level=True,
            record_fields=frozenset(
                f"{REF}.{f}" for f in ("upn", "given_name", "family_name", "address")
            ),
        ),
        valid_from=datetime.now(UTC) - timedelta(days=1),
    )
    queries = trust.queries
    queries.limits = replace(queries.limits, seconds=600, memory="8GB")
    raw = duckdb.connect(config={"threads": 2})
    table = f"read_parquet('{parquet}')"
    sandboxed = "camden.census"
    for label, sql in (("aggregate", AGG), ("record-level extract", EXTRACT)):
        queries.sandboxes.cache.clear()
        cold = timed(
            lambda sql=sql: queries.run("ana@islington.test", grant, sql.format(t=sandboxed)), 1
        )
        queries.settle()
        figures = paired(
            lambda sql=sql: raw.sql(sql.format(t=table)).to_arrow_table(),
            lambda sql=sql: queries.run("ana@islington.test", grant, sql.format(t=sandboxed)),
            args.repeat,
            queries.settle,
        )
        release = queries.run("ana@islington.test", grant, sql.format(t=sandboxed))
        queries.settle()
        listed = queries.contributors(release.id).num_rows
        print(
            f"{label}: raw DuckDB {figures['raw'] * 1000:.0f} ms "
            f"(CPU {figures['raw_cpu'] * 1000:.0f} ms); Accord cold {cold * 1000:.0f} ms, "
            f"warm {figures['accord'] * 1000:.0f} ms (CPU {figures['accord_cpu'] * 1000:.0f} ms); "
            f"warm/raw x{figures['ratio']:.2f} wall, x{figures['cpu_ratio']:.2f} CPU; "
            f"contributors listed after the answer left: {figures['settle'] * 1000:.0f} ms "
            f"(CPU {figures['settle_cpu'] * 1000:.0f} ms); "
            f"rows out {release.rows_out:,}, contributors {release.people:,} "
            f"({listed:,} listed)"
        )

    # A new aggregate question one record away from the earlier ones: its cells are close in
    # size to theirs, so the differencing check lists its contributors before it leaves.
    close = AGG.format(t=sandboxed).replace(" GROUP BY", " WHERE upn <> 'P000000003' GROUP BY")
    wall, cpu = time.perf_counter(), time.process_time()
    release = queries.run("ana@islington.test", grant, close)
    print(
        f"aggregate close to earlier answers (contributors listed before it leaves): "
        f"{(time.perf_counter() - wall) * 1000:.0f} ms (CPU "
        f"{(time.process_time() - cpu) * 1000:.0f} ms); "
        f"cells suppressed by differencing: "
        f"{sum('release' in c.reason for c in release.changes)}"
    )
    queries.settle()

    specs = queries.table_specs(grant)

    def decide(sql: str) -> None:
        checked = check_query(sql, specs, who="islington")
        plan = instrument(checked, "__accord_row_x")
        _check_output_allowed(plan, output_lineage(checked.tree), grant, "islington")

    for label, sql in (("aggregate", AGG), ("record-level extract", EXTRACT)):
        first = timed(lambda sql=sql: decide(sql.format(t=sandboxed)), 200)
        again = timed(
            lambda sql=sql: queries.decide(grant, sql.format(t=sandboxed), specs, "islington"), 200
        )
        print(
            f"policy decision ({label}): {first * 1000:.2f} ms first, "
            f"{again * 1000:.3f} ms repeated (medians of 200)"
        )
    if args.releases:
        indexing, first, again, found = bench_index(
            home.parent / "index", args.releases, args.people
        )
        print(
            f"release index: {args.releases:,} releases x {args.people:,} people indexed in "
            f"{indexing:.1f} s; one person's releases ({found}) found in {first * 1000:.0f} ms "
            f"(first), {again * 1000:.0f} ms (repeated)"
        )
    trust.close()
    shutil.rmtree(home.parent, ignore_errors=True)


if __name__ == "__main__":
    main()

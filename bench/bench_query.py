"""Benchmark: a checked, sandboxed, disclosure-controlled query against raw DuckDB.

    python bench/bench_query.py [--rows 10000000] [--repeat 5]

Builds a trust with one census-like dataset of ``--rows`` rows (ingested as a normal version),
then times, on the same Parquet file:

* a typical aggregate (count by borough and age band) and a typical record-level extract
  (names and addresses of one borough's FSM pupils), on raw DuckDB and through
  ``trust.queries`` (cold: first query of a grant, which prepares the granted view; warm: later
  queries, which reuse it; both include writing the release and its contributors);
* the policy decision alone (lock 1, lineage, the instrumented plan and the output rules).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa

from accord import Trust
from accord.policy.grant import AccessGrant, DatasetGrant, OutputRules
from accord.policy.instrument import instrument
from accord.policy.lineage import output_lineage
from accord.policy.sql_check import check_query
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


def timed(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=5)
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
        raw_s = timed(lambda sql=sql: raw.sql(sql.format(t=table)).to_arrow_table(), args.repeat)
        queries._cache.clear()
        cold = timed(
            lambda sql=sql: queries.run("ana@islington.test", grant, sql.format(t=sandboxed)), 1
        )
        warm = timed(
            lambda sql=sql: queries.run("ana@islington.test", grant, sql.format(t=sandboxed)),
            args.repeat,
        )
        release = queries.run("ana@islington.test", grant, sql.format(t=sandboxed))
        print(
            f"{label}: raw DuckDB {raw_s * 1000:.0f} ms; Accord cold {cold * 1000:.0f} ms, "
            f"warm {warm * 1000:.0f} ms (x{warm / raw_s:.2f} of raw); rows out "
            f"{release.rows_out:,}, contributors {release.people:,}"
        )

    specs = queries.table_specs(grant)

    def decide(sql: str) -> None:
        checked = check_query(sql, specs, who="islington")
        plan = instrument(checked, "__accord_row_x")
        _check_output_allowed(plan, output_lineage(checked.tree), grant, "islington")

    for label, sql in (("aggregate", AGG), ("record-level extract", EXTRACT)):
        decision = timed(lambda sql=sql: decide(sql.format(t=sandboxed)), 200)
        print(f"policy decision ({label}): {decision * 1000:.2f} ms (median of 200)")
    trust.close()


if __name__ == "__main__":
    main()

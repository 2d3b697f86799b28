"""Benchmark: ingest a CSV of N rows x 12 columns with ~1% bad rows.

Prints rows/second and peak memory (RSS of the ingesting process, DuckDB included) for
``trust.ingest.ingest``, and the same for a plain DuckDB ``read_csv`` -> Parquet copy of the same
file, with the ratio between them. Each measurement runs in its own process so that peak RSS
belongs to it alone.

    python bench/bench_ingest.py                 # 1,000,000 rows
    python bench/bench_ingest.py --rows 200000 --keep /tmp/bench
    python bench/bench_ingest.py --profile       # also: wall and CPU time of each SQL statement
    python bench/bench_ingest.py --repeat 3      # three alternating runs and their median

CPU time (all threads) is printed beside wall time: on a shared machine it is the steadier
figure, and "rows/s if N cores were free" is rows / CPU-seconds x N, a projection.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

CONTRACT = {
    "name": "residents",
    "owner": "camden",
    "title": "Benchmark residents",
    "freshness_sla_days": 30,
    "schema": {
        "primaryKey": "person_id",
        "fields": [
            {
                "name": "person_id",
                "type": "string",
                "constraints": {"required": True, "pattern": "R[0-9]{8}"},
            },
            {
                "name": "nhs_number",
                "type": "string",
                "accord": {"category": "personal", "role": "nhs_number"},
            },
            {
                "name": "given_name",
                "type": "string",
                "accord": {"category": "personal", "role": "given_name"},
            },
            {
                "name": "family_name",
                "type": "string",
                "constraints": {"required": True},
                "accord": {"category": "personal", "role": "family_name"},
            },
            {
                "name": "date_of_birth",
                "type": "date",
                "format": "%d/%m/%Y",
                "accord": {"category": "personal", "role": "date_of_birth"},
            },
            {
                "name": "sex",
                "type": "string",
                "constraints": {"enum": ["F", "M", "X"]},
                "accord": {"category": "personal", "role": "sex"},
            },
            {
                "name": "postcode",
                "type": "string",
                "accord": {"category": "personal", "role": "postcode"},
            },
            {"name": "age", "type": "integer", "constraints": {"minimum": 0, "maximum": 120}},
            {
                "name": "email",
                "type": "string",
                "constraints": {"pattern": "[a-z0-9.]+@[a-z0-9.]+"},
                "accord": {"category": "personal", "role": "email"},
            },
            {
                "name": "fsm",
                "type": "boolean",
                "trueValues": ["Y"],
                "falseValues": ["N"],
                "accord": {"category": "personal"},
            },
            {"name": "score", "type": "number"},
            {"name": "school", "type": "string", "constraints": {"maxLength": 20}},
        ],
    },
}

# ~1% bad rows: every 100th row breaks one rule, cycling through ten kinds.
GENERATE = """
COPY (
WITH base AS (
  SELECT i,
    CAST(hash(i, 'nhs') % 899999999 + 100000000 AS BIGINT) AS nhs9,
    hash(i, 'dob') % 27000 AS dob_days,
    CAST(hash(i, 'x') % 1000000007 AS BIGINT) AS h
  FROM range({rows}) t(i)
), nhs AS (
  SELECT *, CAST(nhs9 AS VARCHAR) AS d9 FROM base
), checked AS (
  SELECT *, 11 - (({weighted}) % 11) AS c FROM nhs
), valid AS (
  -- a check digit of 10 is impossible: nudge the last digit (changes the sum by 2)
  SELECT *, CASE WHEN c = 10 THEN CAST(nhs9 + CASE WHEN nhs9 % 10 = 9 THEN -1 ELSE 1 END AS VARCHAR)
                 ELSE d9 END AS d9v FROM checked
), rows AS (
  SELECT i, h, dob_days, d9v, 11 - (({weighted_v}) % 11) AS cv, (i % 100 = 0) AS bad, (i // 100) % 10 AS kind
  FROM valid
)
SELECT
  CASE WHEN bad AND kind = 2 THEN 'R' || lpad(CAST(i - 1 AS VARCHAR), 8, '0')
       ELSE 'R' || lpad(CAST(i AS VARCHAR), 8, '0') END AS person_id,
  d9v || CASE WHEN bad AND kind = 7 THEN CAST(((CASE WHEN cv = 11 THEN 0 ELSE cv END) + 1) % 10 AS VARCHAR)
              ELSE CAST(CASE WHEN cv = 11 THEN 0 ELSE cv END AS VARCHAR) END AS nhs_number,
  ['Amelia','Olivia','Isla','Ava','Mohammed','Noah','Oliver','George','Siân','Zoë'][h % 10 + 1] AS given_name,
  CASE WHEN bad AND kind = 1 THEN '' ELSE ['Smith','Jones','Taylor','Brown','Williams','Wilson','Johnson','Davies','Patel','O''Brien'][(h // 10) % 10 + 1] END AS family_name,
  CASE WHEN bad AND kind = 8 THEN '31/02/2001' ELSE strftime(DATE '1940-01-01' + CAST(dob_days AS INTEGER), '%d/%m/%Y') END AS date_of_birth,
  CASE WHEN bad AND kind = 3 THEN 'Q' ELSE ['F','M','X'][(h // 100) % 3 + 1] END AS sex,
  CASE WHEN bad AND kind = 9 THEN 'NOT A CODE' ELSE ['NW1 2AB','SW1A 1AA','E1 6AN','N1C 4AG','WC2N 5DU'][(h // 300) % 5 + 1] END AS postcode,
  CASE WHEN bad AND kind = 0 THEN 'forty' WHEN bad AND kind = 5 THEN '150' ELSE CAST(h % 100 AS VARCHAR) END AS age,
  CASE WHEN bad AND kind = 4 THEN 'not an email' ELSE 'person' || i || '@example.org' END AS email,
  CASE WHEN h % 7 = 0 THEN 'Y' ELSE 'N' END AS fsm,
  CAST(round((h % 100000) / 1000.0, 2) AS VARCHAR) AS score,
  CASE WHEN bad AND kind = 6 THEN 'A school name far too long for the field' ELSE 'School ' || (h % 90) END AS school
FROM rows ORDER BY i
) TO '{path}' (HEADER, DELIMITER ',')
"""


def weighted(column: str) -> str:
    return " + ".join(f"CAST(substr({column}, {i}, 1) AS INTEGER) * {11 - i}" for i in range(1, 10))


def generate(path: Path, rows: int) -> None:
    sql = GENERATE.format(rows=rows, path=path, weighted=weighted("d9"), weighted_v=weighted("d9v"))
    duckdb.connect().execute(sql)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def cpu_seconds() -> float:
    """CPU time of this process (all threads): a figure a busy shared machine distorts less."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child_ingest(workdir: Path, path: Path) -> dict[str, float]:
    from accord import Trust

    trust = Trust.init(workdir / "home", actor="bench")
    trust.catalogue.add_member("camden", "Camden")
    trust.catalogue.register_dataset(CONTRACT)
    import accord.ingest.service  # noqa: F401  (a one-off import, ~0.2 s, is not ingest time)

    started, cpu = time.perf_counter(), cpu_seconds()
    result = trust.ingest.ingest("camden/residents", path)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds() - cpu,
        "peak_rss_mb": peak_rss_mb(),
        "rows_read": result.rows_read,
        "rows_quarantined": result.rows_quarantined,
        "reasons": result.reason_counts(),
    }


def child_baseline(workdir: Path, path: Path) -> dict[str, float]:
    con = duckdb.connect()
    started, cpu = time.perf_counter(), cpu_seconds()
    target = workdir / "plain.parquet"
    con.execute(f"COPY (SELECT * FROM read_csv('{path}')) TO '{target}' (FORMAT parquet)")
    return {
        "seconds": time.perf_counter() - started,
        "cpu_seconds": cpu_seconds() - cpu,
        "peak_rss_mb": peak_rss_mb(),
    }


class _TimedConnection:
    """A DuckDB connection that prints the wall and CPU time of each statement it runs."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con

    def execute(self, sql: str, *args: object, **kwargs: object) -> object:
        wall, cpu = time.perf_counter(), cpu_seconds()
        result = self._con.execute(sql, *args, **kwargs)
        if not sql.startswith(("DESCRIBE", "SELECT regexp_full_match('',", "SELECT try_strptime")):
            print(
                f"  {time.perf_counter() - wall:6.2f}s wall {cpu_seconds() - cpu:6.2f}s CPU  "
                f"{' '.join(sql.split())[:90]}",
                file=sys.stderr,
            )
        return result

    def __getattr__(self, name: str) -> object:
        return getattr(self._con, name)


def child_profile(workdir: Path, path: Path) -> dict[str, float]:
    """The ingest with each SQL statement timed (printed to stderr)."""
    from accord.ingest import service

    connect = duckdb.connect
    service.duckdb.connect = lambda *a, **k: _TimedConnection(connect(*a, **k))  # type: ignore[assignment]
    return child_ingest(workdir, path)


def run_child(kind: str, workdir: Path, path: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--workdir", str(workdir), "--file", str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    if kind == "profile":
        print(out.stderr, end="")
    return json.loads(out.stdout.strip().splitlines()[-1])


MEASURES = ("seconds", "cpu_seconds", "peak_rss_mb")


def report(rows: int, cores: int, ingest: dict, baseline: dict, load_before: float | None) -> None:
    for label, m in (("accord ingest", ingest), ("duckdb copy  ", baseline)):
        print(
            f"{label}: {m['seconds']:6.2f}s wall {rows / m['seconds']:>10,.0f} rows/s | "
            f"{m['cpu_seconds']:6.2f}s CPU {rows / m['cpu_seconds'] * cores:>10,.0f} rows/s "
            f"if {cores} cores were free | peak RSS {m['peak_rss_mb']:.0f} MB"
        )
    load = (
        f"; load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after, on {cores} cores"
        if load_before is not None
        else ""
    )
    print(
        f"ratio accord / plain duckdb: wall {ingest['seconds'] / baseline['seconds']:.2f}, "
        f"CPU {ingest['cpu_seconds'] / baseline['cpu_seconds']:.2f}{load}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    parser.add_argument("--profile", action="store_true", help="time each SQL statement")
    parser.add_argument(
        "--repeat", type=int, default=1, help="measure N times (alternating) and print the median"
    )
    parser.add_argument(
        "--child", choices=["ingest", "baseline", "profile"], help=argparse.SUPPRESS
    )
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run = {"ingest": child_ingest, "baseline": child_baseline, "profile": child_profile}
        print(json.dumps(run[args.child](args.workdir, args.file)))
        return

    workdir = args.keep or Path(tempfile.mkdtemp(prefix="accord-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "residents.csv"
    started = time.perf_counter()
    generate(path, args.rows)
    print(
        f"generated {args.rows:,} rows x 12 columns ({path.stat().st_size / 1e6:.0f} MB) "
        f"in {time.perf_counter() - started:.1f}s"
    )
    cores = len(os.sched_getaffinity(0))
    runs: list[tuple[dict, dict]] = []
    for n in range(1, args.repeat + 1):
        # The plain copy and the ingest alternate, so that both see the same load.
        load_before = os.getloadavg()[0]
        baseline = run_child("baseline", workdir, path)
        (workdir / f"run{n}").mkdir(exist_ok=True)
        ingest = run_child("ingest", workdir / f"run{n}", path)
        runs.append((ingest, baseline))
        if args.repeat > 1:
            print(f"run {n}:")
        report(args.rows, cores, ingest, baseline, load_before)
    if args.repeat > 1:
        ingest, baseline = (
            {key: statistics.median(m[key] for m in ms) for key in MEASURES} for ms in zip(*runs)
        )
        print(f"median of {args.repeat} runs:")
        report(args.rows, cores, ingest, baseline, None)
        ingest = {**runs[-1][0], **ingest}
    if args.profile:
        (workdir / "profile").mkdir(exist_ok=True)
        print("per statement (a separate, profiled ingest):")
        run_child("profile", workdir / "profile", path)
    print(f"quarantined {ingest['rows_quarantined']:,} of {ingest['rows_read']:,} rows:")
    for label, count in sorted(ingest["reasons"].items(), key=lambda kv: -kv[1]):
        print(f"  {count:>7,}  {label}")
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()

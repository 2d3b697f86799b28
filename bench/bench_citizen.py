"""Benchmark: a citizen's report over many large releases.

Builds a trust with one dataset of POPULATION patients (NHS number, date of birth) and RELEASES
releases, each touching PER_RELEASE patients drawn at random (RELEASES x PER_RELEASE
release-person rows in the contributors Parquet files the query service writes), then times:

- indexing every release for the citizen view (once; a report indexes new releases itself),
- finding the releases that touched one person (the 10^8-row part), and
- a whole ``trust.citizen.report`` (NHS-number lookup, release search, the report itself),

first on a fresh ``CitizenView`` (cold: the index files are opened and mapped) and then warm.

Usage:
    python bench/bench_citizen.py                      # 1,000 x 100,000 = 10^8 rows
    python bench/bench_citizen.py --releases 50 --per-release 10000   # a quick run
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
import warnings
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from accord import Trust
from accord.audit.citizen import CitizenView, Identifiers
from accord.query.events import ReleaseMade
from accord.query.models_db import ReleaseRow
from accord.query.release import CONTRIBUTORS_SCHEMA

warnings.filterwarnings("ignore", message="Arrow output on a DB-API result")

DATASET = "nhs/patients"
CONTRACT = {
    "name": "patients",
    "owner": "nhs",
    "title": "Registered patients",
    "schema": {
        "primaryKey": "patient_id",
        "fields": [
            {"name": "patient_id"},
            {"name": "nhs_number", "accord": {"category": "personal", "role": "nhs_number"}},
            {
                "name": "date_of_birth",
                "type": "date",
                "accord": {"category": "personal", "role": "date_of_birth"},
            },
        ],
    },
}
DOB = date(1970, 1, 31)


def record_ids(numbers: np.ndarray) -> pa.Array:
    """Patient ids that look like real ones: scrambled, so neither sorted nor sequential."""
    scrambled = (numbers.astype(np.uint64) * np.uint64(0x9E3779B1)) % np.uint64(10**10)
    return pc.binary_join_element_wise("X", pa.array(scrambled).cast(pa.string()), "")


def nhs_numbers(n: int) -> np.ndarray:
    """n distinct valid NHS numbers (9xx range, modulus-11 check digit)."""
    base = 900_000_000 + np.arange(n * 2, dtype=np.int64)
    digits = np.stack([(base // 10**p) % 10 for p in range(8, -1, -1)], axis=1)
    check = 11 - (digits * np.arange(10, 1, -1)).sum(axis=1) % 11
    check = np.where(check == 11, 0, check)
    keep = check != 10
    return (base[keep] * 10 + check[keep])[:n]


def build(home: Path, population: int, releases: int, per_release: int, seed: int) -> Trust:
    trust = Trust.init(home, actor="bench")
    trust.catalogue.add_member("nhs", "NHS England")
    trust.catalogue.add_member("camden", "London Borough of Camden")
    trust.catalogue.register_dataset(CONTRACT)
    numbers = nhs_numbers(population)
    patients = pa.table(
        {
            "patient_id": record_ids(np.arange(population)),
            "nhs_number": pa.array(numbers).cast(pa.string()),
            "date_of_birth": pa.array([DOB] * population, pa.date32()),
        }
    )
    trust.ingest.ingest(DATASET, patients)
    version = trust.catalogue.version(DATASET).number
    rng = np.random.default_rng(seed)
    folder = trust.settings.data_dir / "releases"
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    started = datetime.now(UTC) - timedelta(days=releases)
    for n in range(releases):
        chosen = rng.choice(population, per_release, replace=False)
        table = pa.table(
            {
                "cell": pa.array(np.zeros(per_release, dtype=np.int64)),
                "dataset": pa.array([DATASET] * per_release, pa.string()),
                "version": pa.array(np.full(per_release, version, dtype=np.int64)),
                "record_key": record_ids(chosen),
                "person_key": pa.nulls(per_release, pa.string()),
            }
        ).cast(CONTRIBUTORS_SCHEMA)
        release_id = f"rel-bench-{n:05d}"
        path = folder / f"{release_id}.parquet"
        pq.write_table(table, path)
        rows.append((release_id, started + timedelta(days=n), path))
    with trust.unit_of_work() as uow:
        for release_id, made_at, path in rows:
            event = ReleaseMade(
                release_id=release_id,
                member="camden",
                user="analyst@camden.example",
                agreement="service-planning-bench",
                agreement_version=1,
                purpose="service-planning",
                sql="SELECT COUNT(*) FROM nhs.patients",
                columns=[f"{DATASET}.nhs_number"],
                output="aggregate",
                rows_out=1,
                people=per_release,
                checksum="0" * 64,
            )
            # The row from its event, as the query service stores it.
            values = ReleaseRow.values_of(
                event,
                made_at=made_at,
                contributors_path=str(path.relative_to(trust.home)),
                changes=[],
            )
            uow.session.add(ReleaseRow(**values))
            uow.emit(event)
    return trust


def size(paths: list[Path]) -> int:
    return sum(p.stat().st_size for p in paths)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--releases", type=int, default=1000)
    parser.add_argument("--per-release", type=int, default=100_000)
    parser.add_argument("--population", type=int, default=2_000_000)
    parser.add_argument("--people", type=int, default=20, help="people looked up")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="build in this folder and keep it")
    args = parser.parse_args()

    where = args.keep or Path(tempfile.mkdtemp(prefix="accord-bench-citizen-"))
    home = where / "home"
    try:
        if (home / "keys" / "trust.pem").exists():
            trust = Trust.open(home, actor="bench")
            print(f"reusing {home}")
        else:
            started = time.perf_counter()
            trust = build(home, args.population, args.releases, args.per_release, args.seed)
            print(f"built the trust in {time.perf_counter() - started:.1f} s")
        rows = args.releases * args.per_release
        print(
            f"{args.releases:,} releases x {args.per_release:,} people = {rows:,} release-person "
            f"rows over {args.population:,} patients"
        )

        view = CitizenView(trust)
        started = time.perf_counter()
        added = view.refresh_index()
        indexed = time.perf_counter() - started
        contributors = size(sorted((trust.settings.data_dir / "releases").glob("*.parquet")))
        index = size(sorted(view.index_dir.glob("*.npy")))
        print(f"indexed {added:,} releases in {indexed:.1f} s")
        print(
            f"contributors Parquet {contributors / 2**20:,.0f} MiB; citizen index "
            f"{index / 2**20:,.0f} MiB ({index / max(rows, 1):.2f} bytes a row)"
        )

        numbers = nhs_numbers(args.population)
        rng = np.random.default_rng(args.seed + 1)
        people = rng.choice(args.population, args.people, replace=False)
        cold_search, warm_search, cold_report, warm_report, uses = [], [], [], [], []
        for n, person in enumerate(people):
            ids = Identifiers(nhs_number=str(numbers[person]), date_of_birth=DOB)
            records = {(DATASET, record_ids(np.array([person]))[0].as_py())}
            fresh = CitizenView(trust)
            fresh.lookups_per_window = 10**9
            started = time.perf_counter()
            fresh.releases_touching(records)
            cold_search.append(time.perf_counter() - started)
            started = time.perf_counter()
            fresh.releases_touching(records)
            warm_search.append(time.perf_counter() - started)
            fresh = CitizenView(trust)
            fresh.lookups_per_window = 10**9
            started = time.perf_counter()
            fresh.report(ids, client=f"bench:{n}")
            cold_report.append(time.perf_counter() - started)
            started = time.perf_counter()
            report = fresh.report(ids, client=f"bench:{n}")
            warm_report.append(time.perf_counter() - started)
            uses.append(len(report.uses))

        def show(label: str, values: list[float]) -> None:
            ordered = sorted(values)
            p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
            print(
                f"{label:<42} median {statistics.median(values) * 1000:8.1f} ms   "
                f"p95 {p95 * 1000:8.1f} ms   max {max(values) * 1000:8.1f} ms"
            )

        print(f"{args.people} people, {statistics.mean(uses):.1f} uses each on average")
        show("find releases, cold (fresh view)", cold_search)
        show("find releases, warm", warm_search)
        show("whole report, cold (fresh view)", cold_report)
        show("whole report, warm", warm_report)
        trust.close()
    finally:
        if args.keep is None:
            shutil.rmtree(where, ignore_errors=True)


if __name__ == "__main__":
    main()

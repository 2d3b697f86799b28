"""Benchmark the audit log: appending through the unit of work, verifying, checkpoints, proofs.

Usage:
    python bench/bench_audit.py [--verify-size 1000000] [--one 2000] [--many 20000]
                                [--per-transaction 100] [--backends sqlite,postgresql]

PostgreSQL is taken from ACCORD_TEST_PG_URL (default postgres@127.0.0.1:5432/test); each run
uses a fresh schema and drops it afterwards. Figures are printed as a Markdown table.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

from sqlalchemy import create_engine, text

import accord.trust as trust_module
from accord import Trust
from accord.audit.entry import entry_bytes, iso_utc
from accord.audit.export import verify_export
from accord.core.crypto.canonical import canonical_json
from accord.events import Event

PG_URL = os.environ.get("ACCORD_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


class BenchAccess(Event):
    """Shaped like a real access event: who, which agreement, what was touched."""

    kind: ClassVar[str] = "bench.access"
    member: str
    agreement: str
    query_sha256: str
    columns: list[str]
    rows: int


def _event(i: int) -> BenchAccess:
    return BenchAccess(
        member="camden",
        agreement="fsm-2026",
        query_sha256=hashlib.sha256(str(i).encode()).hexdigest(),
        columns=["person_key", "fsm_eligible", "postcode_district"],
        rows=i % 500,
    )


@contextmanager
def _trust(backend: str, audit: bool = True) -> Iterator[Trust]:
    saved = list(trust_module.ON_OPEN)
    if not audit:
        trust_module.ON_OPEN[:] = [h for h in saved if not h.startswith("accord.audit")]
    folder = Path(tempfile.mkdtemp(prefix="bench-audit-"))
    schema = f"bench_{uuid.uuid4().hex[:12]}" if backend == "postgresql" else None
    url = PG_URL if backend == "postgresql" else None
    try:
        trust = Trust.init(folder / "home", database_url=url, database_schema=schema)
        try:
            yield trust
        finally:
            trust.close()
    finally:
        trust_module.ON_OPEN[:] = saved
        shutil.rmtree(folder, ignore_errors=True)
        if schema:
            engine = create_engine(PG_URL)
            with engine.begin() as connection:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            engine.dispose()


def _rate(count: int, fn: Callable[[], None]) -> tuple[float, float]:
    """(events per wall-clock second, client CPU microseconds per event).

    CPU time is shown too because the shared benchmark machine is often busy: it is what the
    work costs this process, whoever else is running (PostgreSQL's own CPU is not in it).
    """
    started, cpu = time.perf_counter(), time.process_time()
    fn()
    seconds = time.perf_counter() - started
    return count / seconds, (time.process_time() - cpu) / count * 1e6


def bench_append(backend: str, one: int, many: int, per_txn: int) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for audit in (False, True):
        label = "with audit chain" if audit else "foundation only (no chain)"
        with _trust(backend, audit) as trust:

            def one_each(trust: Trust = trust) -> None:
                for i in range(one):
                    with trust.unit_of_work() as uow:
                        uow.emit(_event(i))

            def batched(trust: Trust = trust) -> None:
                for start in range(0, many, per_txn):
                    with trust.unit_of_work() as uow:
                        for i in range(start, min(start + per_txn, many)):
                            uow.emit(_event(i))

            rate1, cpu1 = _rate(one, one_each)
            rate2, cpu2 = _rate(many, batched)
            rows.append(
                (
                    f"{backend}: append, 1 event/transaction, {label}",
                    f"{rate1:,.0f} ev/s ({cpu1:,.0f} µs CPU/event)",
                )
            )
            rows.append(
                (
                    f"{backend}: append, {per_txn} events/transaction, {label}",
                    f"{rate2:,.0f} ev/s ({cpu2:,.0f} µs CPU/event)",
                )
            )
    return rows


def bench_chain_cpu(count: int) -> tuple[str, str]:
    """The chain's own work per event (canonical bytes + SHA-256), without the database."""
    when = iso_utc(datetime.now(UTC))
    payload = canonical_json(_event(1).model_dump(mode="json")).decode()

    def run() -> None:
        prev = "0" * 64
        for i in range(1, count + 1):
            prev = hashlib.sha256(
                entry_bytes(
                    i, when, "operator:bench", "bench.access", "camden", "fsm", payload, prev
                )
            ).hexdigest()

    rate, cpu = _rate(count, run)
    return ("chain hashing alone (no database)", f"{rate:,.0f} ev/s ({cpu:.1f} µs CPU/event)")


def _fill(trust: Trust, size: int) -> None:
    """Write ``size`` chained entries straight into the table (the append path is measured
    separately; this only makes a big log to verify)."""
    base = datetime(2026, 11, 25, tzinfo=UTC)
    with trust.store.engine.connect() as connection:
        head_index, head_hash = connection.execute(
            text("SELECT chain_index, entry_hash FROM events ORDER BY chain_index DESC LIMIT 1")
        ).one()

    def rows() -> Iterator[tuple[object, ...]]:
        prev = head_hash
        for i in range(head_index + 1, head_index + size + 1):
            when = base + timedelta(microseconds=i * 1000)
            payload = canonical_json(_event(i).model_dump(mode="json")).decode()
            digest = hashlib.sha256(
                entry_bytes(
                    i,
                    iso_utc(when),
                    "operator:bench",
                    "bench.access",
                    "camden",
                    "fsm-2026",
                    payload,
                    prev,
                )
            ).hexdigest()
            yield (
                when,
                "operator:bench",
                "bench.access",
                "camden",
                "fsm-2026",
                payload,
                i,
                prev,
                digest,
            )
            prev = digest

    columns = (
        "occurred_at, actor, kind, member, agreement, payload, chain_index, prev_hash, entry_hash"
    )
    raw = trust.store.engine.raw_connection()
    try:
        cursor = raw.cursor()
        if trust.store.dialect == "postgresql":
            with cursor.copy(f"COPY events ({columns}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for row in rows():
                    copy.write_row(row)
        else:
            batch: list[tuple[object, ...]] = []
            sql = f"INSERT INTO events ({columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            for when, *rest in rows():
                batch.append((when.strftime("%Y-%m-%d %H:%M:%S.%f"), *rest))  # type: ignore[union-attr]
                if len(batch) == 50_000:
                    cursor.executemany(sql, batch)
                    batch = []
            if batch:
                cursor.executemany(sql, batch)
        raw.commit()
    finally:
        raw.close()


def bench_verify(backend: str, size: int) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    with _trust(backend) as trust:
        started = time.perf_counter()
        _fill(trust, size)
        rows.append(
            (
                f"{backend}: load {size:,} chained entries (setup)",
                f"{time.perf_counter() - started:.1f} s",
            )
        )

        seconds = _timed(trust.audit.checkpoint)
        rows.append((f"{backend}: first checkpoint over {size + 1:,} entries", f"{seconds:.2f} s"))
        with trust.unit_of_work() as uow:
            for i in range(1000):
                uow.emit(_event(i))
        seconds = _timed(trust.audit.checkpoint)
        rows.append(
            (
                f"{backend}: next checkpoint (1,000 new entries, incremental)",
                f"{seconds * 1000:.0f} ms",
            )
        )

        report = None

        def run() -> None:
            nonlocal report
            report = trust.audit.verify()

        cpu = time.process_time()
        seconds = _timed(run)
        cpu = time.process_time() - cpu
        assert report is not None and report.ok, report.summary() if report else ""
        rows.append(
            (
                f"{backend}: verify {report.entries:,} entries from the database",
                f"{seconds:.2f} s ({cpu:.2f} s client CPU)",
            )
        )

        seconds = _timed(lambda: trust.audit.prove_inclusion(size // 2))
        rows.append(
            (f"{backend}: inclusion proof in a log of {report.entries:,}", f"{seconds:.2f} s")
        )

        if backend == "sqlite":
            folder = trust.home.parent / "export"
            seconds = _timed(lambda: trust.audit.export(folder))
            rows.append((f"export {report.entries:,} entries (JSON Lines)", f"{seconds:.2f} s"))
            key = trust.settings.keys_dir / "trust.pub"
            exported = None

            def run_export() -> None:
                nonlocal exported
                exported = verify_export(folder, public_key=key)

            seconds = _timed(run_export)
            assert exported is not None and exported.ok
            rows.append((f"verify an export of {report.entries:,} entries", f"{seconds:.2f} s"))
    return rows


def _timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--verify-size", type=int, default=1_000_000)
    parser.add_argument("--one", type=int, default=2_000, help="events, one per transaction")
    parser.add_argument("--many", type=int, default=20_000, help="events, batched")
    parser.add_argument("--per-transaction", type=int, default=100)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--skip-verify", action="store_true", help="append figures only")
    args = parser.parse_args()
    results: list[tuple[str, str]] = [bench_chain_cpu(200_000)]
    for backend in args.backends.split(","):
        results += bench_append(backend, args.one, args.many, args.per_transaction)
        if not args.skip_verify:
            results += bench_verify(backend, args.verify_size)
    print("| measure | result |\n|---|---|")
    for name, value in results:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()

"""Benchmark the synthetic population generator: people/s, wall time and peak memory.

Usage:
    python bench/bench_synth.py --people 1000000 [--errors medium] [--out DIR]

Prints one line per run; without --out, files go to a temporary folder that is removed.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import tempfile
import time
from pathlib import Path

from accord.synth import generate_population


def _size(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--errors", default="medium")
    parser.add_argument("--format", default="parquet", choices=["parquet", "csv"])
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    out = args.out or Path(tempfile.mkdtemp(prefix="accord-bench-synth-"))
    try:
        started = time.perf_counter()
        summary = generate_population(
            args.people, args.seed, out, errors=args.errors, fmt=args.format
        )
        wall = time.perf_counter() - started
        rows = sum(summary.row_counts.values())
        size = _size(out)
    finally:
        if args.out is None:
            shutil.rmtree(out, ignore_errors=True)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak_rss = usage.ru_maxrss / 1024  # KiB on Linux
    cpu = usage.ru_utime + usage.ru_stime
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"people={args.people:,} errors={args.errors} fmt={args.format} "
        f"cpus={os.cpu_count()} python={platform.python_version()}\n"
        f"  wall {wall:.1f} s | {args.people / wall:,.0f} people/s | "
        f"{rows:,} extract rows ({rows / wall:,.0f} rows/s) | {size / 2**20:,.0f} MiB written\n"
        f"  CPU {cpu:.1f} s (user+sys, {cpu / wall:.2f} cores busy) | peak RSS {peak_rss:,.0f} MiB"
        f" | load average at end {load:.1f}"
    )


if __name__ == "__main__":
    main()

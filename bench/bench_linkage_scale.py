"""Linkage at scale: two extracts of N people each (default 200,000) on this machine.

Reports wall time, comparisons scored per second, peak memory (RSS), and the ratio against a
plain Splink run with the same settings on the same prepared data (Accord's overhead:
preparation, household measurement, constrained clustering, key assignment).

    .venv/bin/python bench/bench_linkage_scale.py --people 200000
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from linkage_eval import synth_source

from accord.linkage import LinkConfig, LinkSource, link
from accord.linkage.keys import assign_keys


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--left", default="nhs/gp_registrations")
    parser.add_argument("--right", default="freshmart/customers")
    parser.add_argument("--incremental", type=int, default=0, help="records to match one by one")
    args = parser.parse_args()
    from accord.synth import generate_population

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        generate_population(args.people, args.seed, root, errors="medium")
        sources = [synth_source(root, args.left), synth_source(root, args.right)]
        held = None
        if args.incremental:  # held back from the full run, then matched one by one
            right = sources[1].read()
            held = right.slice(0, args.incremental)
            rest = right.slice(args.incremental)
            sources[1] = LinkSource(sources[1].ref, sources[1].contract, rest)
        records = sum(s.read().num_rows for s in sources)
        t = time.perf_counter()
        result = link(
            sources,
            config=LinkConfig(),
            progress=lambda m: print(f"  {time.perf_counter() - t:7.1f}s {m}"),
        )
        keys = assign_keys(result.clusters.table, None)
        accord_time = time.perf_counter() - t
        comparisons = result.comparisons_total()
        plain = (
            result.timings.get("train", 0)
            + result.timings.get("predict", 0)
            + result.timings.get("count", 0)
        )
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"records {records:,}; comparisons {comparisons:,}; people {len(set(keys.table.column('person_key').to_pylist())):,}"
        )
        print(
            f"wall {accord_time:.1f}s; {comparisons / max(result.timings.get('predict', 1e-9), 1e-9):,.0f} "
            f"comparisons/s in scoring; peak RSS {peak:,.0f} MiB"
        )
        print(
            f"Splink's own steps {plain:.1f}s; Accord overhead {(accord_time - plain) / plain:.1%} "
            f"(timings {result.timings})"
        )
        if held is not None:
            incremental(result, keys.table, sources, held)


def incremental(result, keys, sources, held) -> None:
    """Median time to match one arriving record against the whole linked population."""
    import statistics

    import pyarrow as pa

    from accord.linkage import blocking
    from accord.linkage.incremental import IncrementalMatcher
    from accord.linkage.scoring import term_frequencies

    tables = [p.table for p in result.prepared.values()]
    population = pa.concat_tables(tables, promote_options="default")
    columns = ("dataset", "record_key", "person_key")
    person = {(d, k): p for d, k, p in zip(*(keys.column(c).to_pylist() for c in columns))}
    ids = zip(
        population.column("source_dataset").to_pylist(), population.column("unique_id").to_pylist()
    )
    population = population.append_column(
        "person_key", pa.array([person.get(i) for i in ids], pa.string())
    )
    names = set(result.model["accord"]["rules"])
    t = time.perf_counter()
    matcher = IncrementalMatcher(
        result.model, term_frequencies(tables), population, set(result.roles),
        [r for r in blocking.REGISTRY if r.name in names],
        duplicate_free={s.ref for s in sources if not s.may_hold_duplicates},
        link_threshold=result.config.link_threshold, review_floor=result.config.review_floor,
    )  # fmt: skip
    print(
        f"incremental matcher built over {population.num_rows:,} records in {time.perf_counter() - t:.1f}s"
    )
    times = []
    for i in range(held.num_rows):
        t = time.perf_counter()
        matcher.match(sources[1], held.slice(i, 1))
        times.append(time.perf_counter() - t)
    times.sort()
    print(
        f"incremental: {len(times)} records one by one; median {statistics.median(times) * 1000:.0f} ms, "
        f"p90 {times[int(len(times) * 0.9)] * 1000:.0f} ms per record"
    )


if __name__ == "__main__":
    main()

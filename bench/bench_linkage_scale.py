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
from linkage_eval import synth_source  # noqa: E402

from accord.linkage import LinkConfig, link  # noqa: E402
from accord.linkage.keys import assign_keys  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--left", default="nhs/gp_registrations")
    parser.add_argument("--right", default="freshmart/customers")
    args = parser.parse_args()
    from accord.synth import generate_population

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        generate_population(args.people, args.seed, root, errors="medium")
        sources = [synth_source(root, args.left), synth_source(root, args.right)]
        records = sum(s.read().num_rows for s in sources)
        t = time.perf_counter()
        result = link(sources, config=LinkConfig(), progress=lambda m: print(f"  {time.perf_counter() - t:7.1f}s {m}"))
        keys = assign_keys(result.clusters.table, None)
        accord_time = time.perf_counter() - t
        comparisons = result.comparisons_total()
        plain = result.timings.get("train", 0) + result.timings.get("predict", 0) + result.timings.get("count", 0)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"records {records:,}; comparisons {comparisons:,}; people {len(set(keys.table.column('person_key').to_pylist())):,}")
        print(f"wall {accord_time:.1f}s; {comparisons / max(result.timings.get('predict', 1e-9), 1e-9):,.0f} "
              f"comparisons/s in scoring; peak RSS {peak:,.0f} MiB")
        print(f"Splink's own steps {plain:.1f}s; Accord overhead {(accord_time - plain) / plain:.1%} "
              f"(timings {result.timings})")


if __name__ == "__main__":
    main()

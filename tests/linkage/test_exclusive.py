"""Candidates from a source that holds each person once share their probability."""

from __future__ import annotations

import pyarrow as pa

from accord.linkage.clustering import cluster
from accord.linkage.exclusive import share
from tests.linkage.pairs import probabilities

COLUMNS = ["source_dataset_l", "unique_id_l", "source_dataset_r", "unique_id_r"]


def _pairs(*rows: tuple[str, str, float]) -> pa.Table:
    return pa.table(
        {
            "source_dataset_l": ["school"] * len(rows),
            "unique_id_l": [r[0] for r in rows],
            "source_dataset_r": ["register"] * len(rows),
            "unique_id_r": [r[1] for r in rows],
            "match_weight": [0.0] * len(rows),
            "match_probability": [r[2] for r in rows],
        }
    )


def test_a_tie_between_mother_and_daughter_of_one_name_is_linked_to_neither() -> None:
    # The pupil Maria Sanchez; the register holds her and her mother, both without a date of
    # birth, at one address: the model scores both the same.
    pairs = _pairs(("pupil", "mother", 0.9998), ("pupil", "daughter", 0.9998))
    shared = probabilities(share(pairs, ["register"]))
    assert 0.45 < shared[("pupil", "mother")] < 0.5
    nodes = pa.table(
        {
            "source_dataset": ["school", "register", "register"],
            "unique_id": ["pupil", "mother", "daughter"],
        }
    )
    clusters = cluster(nodes, share(pairs, ["register"]), threshold=0.9)
    assert len(set(clusters.table.column("cluster").to_pylist())) == 3


def test_a_clear_best_candidate_keeps_almost_all_its_probability() -> None:
    shared = probabilities(share(_pairs(("a", "x", 0.9999), ("a", "y", 0.01)), ["register"]))
    assert shared[("a", "x")] > 0.999
    assert shared[("a", "y")] < 0.01


def test_competitors_on_either_side_count() -> None:
    pairs = _pairs(("a", "x", 0.99), ("b", "x", 0.99), ("c", "z", 0.99))
    shared = probabilities(share(pairs, ["school", "register"]))
    assert shared[("a", "x")] < 0.5  # x is claimed by a and by b
    assert abs(shared[("c", "z")] - 0.99) < 1e-9  # alone: unchanged


def test_a_source_that_may_hold_duplicates_does_not_exclude() -> None:
    pairs = _pairs(("a", "x", 0.99), ("a", "y", 0.99))
    assert share(pairs, ["school"]).column("match_probability").to_pylist() == [0.99, 0.99]
    assert share(pairs, []).equals(pairs)

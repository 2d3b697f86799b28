"""The steps after scoring run on compact integer ids and give what the records' own ids give."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accord.linkage import engine, link
from accord.linkage.compact import compact_ids
from accord.linkage.exclusive import share
from tests.linkage.conftest import FAST, Boroughs

pytestmark = pytest.mark.filterwarnings("ignore:Arrow output on a DB-API result")
IDS = ["source_dataset_l", "unique_id_l", "source_dataset_r", "unique_id_r"]
# Small ranks (codes from the ids themselves), and ids too large or negative for that.
IDS_DRAWN = [0, 1, 2, 3, 5, 6, 10**9, 2**40, -1]


def _by_pair(pairs: pa.Table) -> dict[tuple, tuple[float, float]]:
    columns = [*IDS, "match_weight", "match_probability"]
    rows = zip(*(pairs.column(c).to_pylist() for c in columns), strict=True)
    return {tuple(r[:4]): (r[4], r[5]) for r in rows}


def test_a_run_on_compact_ids_gives_the_pairs_and_people_of_a_run_on_the_records_own_ids(
    boroughs: Boroughs, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[object] = []

    def recorded(tables: dict[str, pa.Table]) -> object:
        made.append(compact_ids(tables))
        return made[-1]

    monkeypatch.setattr(engine, "compact_ids", recorded)
    compact = link(boroughs.sources(), config=FAST)
    assert made and made[0] is not None  # this run scored and shared on compact ids
    monkeypatch.setattr(engine, "compact_ids", lambda tables: None)
    plain = link(boroughs.sources(), config=FAST)

    assert compact.config.link_threshold == pytest.approx(plain.config.link_threshold)
    a, b = _by_pair(compact.pairs), _by_pair(plain.pairs)
    assert a.keys() == b.keys()
    assert all(a[k][1] == pytest.approx(b[k][1], abs=1e-9) for k in a)
    # Absence weights are named by the sources' refs, not by their compact codes.
    weights = compact.model["accord"]["absence_weights"]
    assert weights.keys() == plain.model["accord"]["absence_weights"].keys()
    assert weights["islington/residents in camden/pupils"] == pytest.approx(
        plain.model["accord"]["absence_weights"]["islington/residents in camden/pupils"]
    )

    def people(result: engine.LinkResult) -> set[frozenset[tuple[str, str]]]:
        t = result.clusters.table
        found: dict[int, set[tuple[str, str]]] = {}
        columns = ("source_dataset", "unique_id", "cluster")
        for s, u, c in zip(*(t.column(n).to_pylist() for n in columns), strict=True):
            found.setdefault(c, set()).add((s, u))
        return {frozenset(v) for v in found.values()}

    assert people(compact) == people(plain)


def test_compact_ids_come_back_as_the_records_own_ids() -> None:
    tables = {
        "b/register": pa.table(
            {"source_dataset": ["b/register"] * 3, "unique_id": ["z", "x", "y"]}
        ),
        "a/school": pa.table({"source_dataset": ["a/school"] * 2, "unique_id": ["p2", "p1"]}),
    }
    packed = compact_ids(tables)
    assert packed is not None
    numbered = packed.numbered_tables()
    assert [t.column("unique_id").type for t in numbered] == [pa.int64(), pa.int64()]
    pairs = pa.table(
        {
            "source_dataset_l": [packed.code_of("a/school")] * 2,
            "unique_id_l": pa.array([0, 1], pa.int64()),
            "source_dataset_r": [packed.code_of("b/register")] * 2,
            "unique_id_r": pa.array([2, 0], pa.int64()),
        }
    )
    restored = packed.restore(pairs)
    assert restored.column("unique_id_l").to_pylist() == ["p1", "p2"]
    assert restored.column("unique_id_r").to_pylist() == ["z", "x"]
    assert restored.column("source_dataset_r").to_pylist() == ["b/register"] * 2
    assert packed.ref_of(packed.code_of("b/register")) == "b/register"


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["school", "register", "gp"]),
            st.sampled_from(IDS_DRAWN),
            st.sampled_from(["school", "register", "gp"]),
            st.sampled_from(IDS_DRAWN),
            st.floats(0.0, 0.99999),
        ),
        min_size=1,
        max_size=30,
    ),
    st.sets(st.sampled_from(["school", "register", "gp"])),
)
def test_integer_record_ids_share_probability_as_their_text_does(
    rows: list[tuple[str, int, str, int, float]], free: set[str]
) -> None:
    def table(ids: pa.DataType) -> pa.Table:
        cast = (lambda i: i) if ids == pa.int64() else (lambda i: f"r{i}")
        return pa.table(
            {
                "source_dataset_l": [r[0] for r in rows],
                "unique_id_l": pa.array([cast(r[1]) for r in rows], ids),
                "source_dataset_r": [r[2] for r in rows],
                "unique_id_r": pa.array([cast(r[3]) for r in rows], ids),
                "match_weight": [0.0] * len(rows),
                "match_probability": [r[4] for r in rows],
            }
        )

    as_int = share(table(pa.int64()), free).column("match_probability").to_numpy()
    as_text = share(table(pa.string()), free).column("match_probability").to_numpy()
    np.testing.assert_allclose(as_int, as_text, rtol=1e-12, atol=1e-15)

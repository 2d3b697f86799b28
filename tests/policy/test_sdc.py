"""Disclosure control: our decisions against SACRO's acro on the same tables, and the rules
acro leaves to the output checker (secondary suppression, rounding, totals)."""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

import pytest

from accord.policy.sdc import (
    RULES,
    CellEvidence,
    MeasureCells,
    Rule,
    SDCSettings,
    add_totals,
    control,
    register_rule,
)

S = SDCSettings()


def _records(seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows = []
    for _ in range(rng.randint(60, 160)):
        a = rng.choices(["w", "x", "y", "z"], weights=[1, 4, 4, 2])[0]
        b = rng.choices(["p", "q"], weights=[3, 1])[0]
        value = float(rng.randint(1, 60))
        if rng.random() < 0.03:
            value = float(rng.randint(500, 5000))  # a dominant contributor
        rows.append({"a": a, "b": b, "v": value})
    return rows


def _cells(records: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[list[float]]]:
    groups: dict[tuple[str, str], list[float]] = defaultdict(list)
    for r in records:
        groups[(r["a"], r["b"])].append(r["v"])
    keys = sorted(groups)
    return [{"a": a, "b": b} for a, b in keys], [groups[k] for k in keys]


def _evidence(values: list[float], is_count: bool) -> CellEvidence:
    top = sorted(values, reverse=True)
    return CellEvidence(
        contributors=len(values),
        value=float(len(values)) if is_count else sum(values),
        is_count=is_count,
        values=() if is_count else ((sum(values), top[0], sum(top[:2]), 0),),
    )


def _primary(rows: list[dict[str, Any]], values: list[list[float]], is_count: bool) -> set:
    measure = MeasureCells("m", is_count, [_evidence(v, is_count) for v in values])
    table = control([dict(r, m=0) for r in rows], ["a", "b"], [measure], S)
    return {
        (rows[c.row]["a"], rows[c.row]["b"])
        for c in table.changes
        if c.action == "suppressed" and c.rule != "SecondarySuppression"
    }


def _acro_failures(outcome: Any) -> set:
    return {
        (a, b)
        for a in outcome.index
        for b in outcome.columns
        if str(outcome.loc[a, b]).strip() not in ("ok", "")
    }


@pytest.mark.parametrize("seed", range(6))
def test_count_suppression_matches_acro(seed: int) -> None:
    import acro
    import pandas as pd

    records = _records(seed)
    frame = pd.DataFrame(records)
    checker = acro.ACRO(suppress=False)
    checker.crosstab(frame.a, frame.b)
    expected = _acro_failures(checker.results.get_index(0).outcome)
    rows, values = _cells(records)
    assert _primary(rows, values, is_count=True) == expected


@pytest.mark.parametrize("seed", range(6))
def test_sum_suppression_matches_acro(seed: int) -> None:
    import acro
    import pandas as pd

    records = _records(seed)
    frame = pd.DataFrame(records)
    checker = acro.ACRO(suppress=False)
    checker.pivot_table(frame, index="a", columns="b", values="v", aggfunc="sum")
    expected = _acro_failures(checker.results.get_index(0).outcome)
    rows, values = _cells(records)
    assert _primary(rows, values, is_count=False) == expected


def test_acro_defaults_are_ours() -> None:
    assert (S.safe_threshold, S.safe_nk_n, S.safe_nk_k, S.safe_pratio_p, S.safe_round_base) == (
        10,
        2,
        0.9,
        0.1,
        5,
    )
    assert [r.name for r in RULES][:3] == ["MinimumThresholdCheck", "NKCheck", "PPercentCheck"]


def _count_table(counts: dict[tuple[str, str], int]) -> tuple[list[dict], MeasureCells]:
    rows = [{"a": a, "b": b, "n": n} for (a, b), n in counts.items()]
    measure = MeasureCells(
        "n", True, [CellEvidence(contributors=n, value=n, is_count=True) for n in counts.values()]
    )
    return rows, measure


def test_a_lone_suppressed_cell_gets_a_partner_in_its_row_and_column() -> None:
    rows, measure = _count_table(
        {
            ("x", "p"): 4,
            ("x", "q"): 30,
            ("x", "r"): 50,
            ("y", "p"): 40,
            ("y", "q"): 35,
            ("y", "r"): 60,
        }
    )
    table = control(rows, ["a", "b"], [measure], S)
    hidden = {(r["a"], r["b"]) for r in table.rows if r["n"] is None}
    assert ("x", "p") in hidden
    # row x and column p would each give it away from their totals without a second cell
    assert sum(1 for cell in hidden if cell[0] == "x") >= 2
    assert sum(1 for cell in hidden if cell[1] == "p") >= 2


def test_counts_are_rounded_to_five_and_the_caller_is_told() -> None:
    rows, measure = _count_table({("x", "p"): 12, ("x", "q"): 23})
    table = control(rows, ["a", "b"], [measure], S)
    assert [r["n"] for r in table.rows] == [10, 25]
    assert {c.action for c in table.changes} == {"rounded"}


def test_totals_are_computed_from_rounded_released_cells() -> None:
    rows, measure = _count_table({("x", "p"): 12, ("y", "p"): 13, ("z", "p"): 3})
    table = control(rows, ["a"], [measure], S)
    add_totals(table, ["a"], [measure], 5)
    released = [r["n"] for r in table.rows[:-1] if r["n"] is not None]
    assert table.rows[-1]["a"] == "Total"
    assert table.rows[-1]["n"] == round(sum(released) / 5) * 5
    # the suppressed cell (3) is not in the total, so the total cannot reveal it
    assert table.rows[-1]["n"] != 10 + 15 + 3


def test_a_trust_can_register_its_own_rule() -> None:
    rule = Rule("NoOddCounts", lambda cell, s: "odd" if cell.value and cell.value % 2 else None)
    register_rule(rule)
    try:
        rows, measure = _count_table({("x", "p"): 21, ("x", "q"): 40})
        table = control(rows, ["a", "b"], [measure], S)
        assert any(c.rule == "NoOddCounts" for c in table.changes)
    finally:
        RULES.remove(rule)


def test_the_agreement_may_raise_the_threshold_but_not_lower_it() -> None:
    assert S.with_threshold(20).safe_threshold == 20
    assert S.with_threshold(3).safe_threshold == 10

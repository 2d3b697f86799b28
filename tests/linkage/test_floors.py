"""What training may not learn: swapped names above exact names, far places above near ones."""

from __future__ import annotations

import math
from types import SimpleNamespace

from accord.linkage.comparisons import SWAPPED, SWAPPED_TYPO
from accord.linkage.floors import _cap_swaps, _monotone_places


def _level(label: str, m: float | None, u: float | None, null: bool = False) -> SimpleNamespace:
    return SimpleNamespace(
        label_for_charts=label, m_probability=m, u_probability=u, is_null_level=null
    )


def _weight(level: SimpleNamespace) -> float:
    return math.log2(level.m_probability / level.u_probability)


def test_a_swap_never_weighs_more_than_the_same_names_in_the_right_fields() -> None:
    # Random sampling sees almost no swaps among different people (u = 2e-6), so EM's swap
    # level weighs 13 bits against 8 for an exact match.
    comparison = SimpleNamespace(
        comparison_levels=[
            _level("null", None, None, null=True),
            _level("Exact match on given_name", 0.86, 2.9e-3),
            _level(SWAPPED, 0.015, 1.8e-6),
            _level(SWAPPED_TYPO, 0.006, 5.5e-6),
            _level("nickname", 0.03, 2e-3),
            _level("else", 0.02, 0.99),
        ]
    )
    _cap_swaps(comparison)
    exact, swapped, typo = comparison.comparison_levels[1:4]
    assert _weight(swapped) <= _weight(exact) + 1e-9
    assert _weight(typo) <= _weight(exact) + 1e-9
    assert abs(swapped.m_probability - 0.015) < 1e-12  # m is left alone
    total_u = sum(lv.u_probability for lv in comparison.comparison_levels[1:])
    assert abs(total_u - (2.9e-3 + 1.8e-6 + 5.5e-6 + 2e-3 + 0.99)) < 1e-9


def test_sharing_a_postcode_area_is_never_evidence_against_next_to_sharing_nothing() -> None:
    comparison = SimpleNamespace(
        comparison_levels=[
            _level("null", None, None, null=True),
            _level("same place: same address", 0.86, 3.8e-5),
            _level("Exact match on postcode_sector", 0.002, 0.016),
            _level("Exact match on postcode_district", 0.007, 0.117),
            _level("Exact match on postcode_area", 0.007, 0.415),
            _level("else", 0.1, 0.441),
        ]
    )
    assert _monotone_places(comparison)
    levels = comparison.comparison_levels[1:]
    weights = [_weight(lv) for lv in levels]
    assert weights[1] >= weights[2] >= weights[3] >= weights[4] - 1e-9
    assert abs(sum(lv.m_probability for lv in levels) - 1.0) < 1e-9
    assert weights[0] > 14  # the same address stays strong evidence

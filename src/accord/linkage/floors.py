"""Floors on what training may learn, from what is known of UK administrative data.

EM learns from the extract in front of it; some facts it should not unlearn. About one person
in ten moves each year and registers lag behind, so a different address is never strong
evidence of two people: the m probability of "location differs" never falls below 10%, which
keeps a move from outweighing agreeing names and date of birth. Rules are data: (comparison,
level position from the end, minimum m).
"""

from __future__ import annotations

from typing import Any

# position -1 is the comparison's last (else) level
M_FLOORS: list[tuple[str, int, float]] = [
    ("location", -1, 0.10),
]


def apply_floors(linker: Any) -> dict[str, float]:
    """Raise m probabilities below their floor; returns {comparison: new m} for those changed."""
    changed: dict[str, float] = {}
    comparisons = {c.output_column_name: c for c in linker._settings_obj.comparisons}
    for name, position, floor in M_FLOORS:
        comparison = comparisons.get(name)
        if comparison is None:
            continue
        level = comparison.comparison_levels[position]
        if level.m_probability is not None and level.m_probability < floor:
            level.m_probability = floor
            changed[name] = floor
    return changed

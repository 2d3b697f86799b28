"""Floors on what training may learn, from what is known of UK administrative data.

EM learns from the extract in front of it, and a small or clean extract teaches it things that
are false in general: with fifty true matches none of which has a mistyped first name, EM sets
"Jaro-Winkler 0.80" to m = 0 and a single typo then counts as forty bits against a match. Some
facts it must not unlearn, whatever the extract:

* about one person in ten moves each year and registers lag behind, so a different address is
  never strong evidence of two people (m of "location differs" at least 10%), which keeps a move
  from outweighing agreeing names and date of birth;
* names are recorded with typos, nicknames, other spellings, new family names on marriage and
  given names replaced by a middle or anglicised name, so no name level is impossible for the
  same person, and a family name that disagrees is ordinary (at least 3%);
* dates of birth are mistyped (a digit, a transposed day and month), at least 0.5% each.

Every other non-null level gets a small floor (0.2%). After raising a level the comparison's m
probabilities are scaled back to sum to one, taking the mass from the levels above their floor.
Rules are data: (comparison, level position, minimum m); position -1 is the else level and
``None`` means every level not named otherwise.
"""

from __future__ import annotations

from typing import Any

M_FLOORS: list[tuple[str, int | None, float]] = [
    ("location", -1, 0.10),
    ("given_name", -1, 0.02),
    ("family_name", -1, 0.03),
    ("date_of_birth", -1, 0.005),
    ("date_of_birth", 2, 0.005),  # day and month transposed
    ("date_of_birth", 3, 0.005),  # one keystroke apart
    ("date_of_birth", 4, 0.005),  # one of day, month, year differs
    ("given_name", None, 0.002),
    ("family_name", None, 0.002),
    ("date_of_birth", None, 0.002),
    ("location", None, 0.002),
]


def apply_floors(linker: Any) -> dict[str, list[float]]:
    """Raise m probabilities below their floor and renormalise; returns {comparison: new m}
    for the comparisons changed."""
    changed: dict[str, list[float]] = {}
    for comparison in linker._settings_obj.comparisons:
        name = comparison.output_column_name
        levels = [lv for lv in comparison.comparison_levels if not lv.is_null_level]
        if not levels or any(lv.m_probability is None for lv in levels):
            continue
        if any(lv._fix_m_probability for lv in levels):
            continue  # fixed-weight levels (the household guard) are set elsewhere
        floors = _floors_of(name, comparison.comparison_levels)
        m = [lv.m_probability for lv in levels]
        low = [floors.get(id(lv), 0.0) for lv in levels]
        new = _raise_and_renormalise(m, low)
        if new != m:
            for level, value in zip(levels, new, strict=True):
                level.m_probability = value
            changed[name] = new
    return changed


def _floors_of(name: str, all_levels: list[Any]) -> dict[int, float]:
    """{id(level): floor} for one comparison, specific rules over the general one."""
    result: dict[int, float] = {}
    general = [f for c, p, f in M_FLOORS if c == name and p is None]
    for level in all_levels:
        if not level.is_null_level and general:
            result[id(level)] = general[0]
    for comparison, position, floor in M_FLOORS:
        if comparison != name or position is None:
            continue
        if -len(all_levels) <= position < len(all_levels):
            level = all_levels[position]
            if not level.is_null_level:
                result[id(level)] = max(floor, result.get(id(level), 0.0))
    return result


def _raise_and_renormalise(m: list[float], low: list[float]) -> list[float]:
    """Raise each m to its floor and scale the others down so the total stays one.

    Examples:
        >>> [round(x, 3) for x in _raise_and_renormalise([0.99, 0.01, 0.0], [0.0, 0.0, 0.02])]
        [0.97, 0.01, 0.02]
    """
    raised = [max(v, f) for v, f in zip(m, low, strict=True)]
    if raised == m:
        return m
    fixed = [i for i, (v, f) in enumerate(zip(m, low, strict=True)) if v <= f]
    free = [i for i in range(len(m)) if i not in fixed]
    need = sum(raised[i] for i in fixed)
    have = sum(raised[i] for i in free)
    if have <= 0 or need >= 1:
        total = sum(raised)
        return [v / total for v in raised]
    scale = (1 - need) / have
    return [raised[i] if i in fixed else raised[i] * scale for i in range(len(m))]

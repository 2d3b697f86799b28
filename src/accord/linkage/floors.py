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

Two more facts bound what a level may weigh, whatever EM and random sampling found:

* **swapped names are the same names**: two people who happen to carry the same pair of names
  do so whichever field each name sits in, so a swap is never stronger evidence than the same
  names in the right fields. Random sampling sees almost no swaps among different people and
  would otherwise give a swap twice the weight of an exact match (13 bits a name, not 8), which
  links "Neil Smith" to an unrelated "Smith Neil" across town;
* **nearer is never worse than farther**: most moves are local, so sharing a postcode sector,
  district or area is never evidence *against* compared with sharing nothing. EM on a city's
  extract, where nearly everyone shares the area, can learn the opposite (same area -5.9 bits,
  different area -2.1); the hierarchy is made monotone by raising m of the nearer level.
"""

from __future__ import annotations

from typing import Any

from accord.linkage.comparisons import SWAPPED, SWAPPED_TYPO

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


# Location levels from nearest to farthest whose weights must not increase with distance.
MONOTONE_PLACES = (
    "Exact match on postcode_sector",
    "Exact match on postcode_district",
    "Exact match on postcode_area",
)


def apply_floors(linker: Any) -> dict[str, list[float]]:
    """Raise m probabilities below their floor and renormalise, cap swapped names at the
    weight of exact names, and make the postcode hierarchy monotone; returns {comparison: new
    m} for the comparisons whose m changed."""
    changed = _floor_all(linker)
    for comparison in linker._settings_obj.comparisons:
        if comparison.output_column_name == "location" and _monotone_places(comparison):
            changed[comparison.output_column_name] = [
                lv.m_probability for lv in comparison.comparison_levels if not lv.is_null_level
            ]
        if comparison.output_column_name in ("given_name", "family_name"):
            _cap_swaps(comparison)
    return changed


def _floor_all(linker: Any) -> dict[str, list[float]]:
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


def _weight_ratio(level: Any) -> float | None:
    m, u = level.m_probability, level.u_probability
    if m is None or u is None or u <= 0:
        return None
    return m / u


def _cap_swaps(comparison: Any) -> None:
    """Raise u of the swapped levels so that their Bayes factor is at most the exact level's;
    the u taken is given back by the else level (u still sums to one)."""
    levels = [lv for lv in comparison.comparison_levels if not lv.is_null_level]
    exact = levels[0] if levels else None
    cap = _weight_ratio(exact) if exact is not None else None
    if cap is None:
        return
    for level in levels:
        if level.label_for_charts not in (SWAPPED, SWAPPED_TYPO):
            continue
        ratio = _weight_ratio(level)
        if ratio is None or ratio <= cap:
            continue
        added = level.m_probability / cap - level.u_probability
        level.u_probability = level.m_probability / cap
        other = levels[-1]
        if other.u_probability is not None and other.u_probability > added:
            other.u_probability = other.u_probability - added


def _monotone_places(comparison: Any) -> bool:
    """Make the Bayes factors of sector, district, area and else non-increasing with distance
    by raising m of a nearer level to its farther neighbour's ratio; renormalise m."""
    levels = [lv for lv in comparison.comparison_levels if not lv.is_null_level]
    by_label = {lv.label_for_charts: lv for lv in levels}
    chain = [by_label[label] for label in MONOTONE_PLACES if label in by_label] + [levels[-1]]
    if len(chain) < 2 or any(_weight_ratio(lv) is None for lv in chain):
        return False
    floors = {id(lv): 0.0 for lv in levels}
    ratio = _weight_ratio(chain[-1]) or 0.0
    raised = False
    for level in reversed(chain[:-1]):
        need = level.u_probability * ratio
        if level.m_probability < need:
            floors[id(level)] = need
            raised = True
        ratio = max(ratio, _weight_ratio(level) or 0.0)
    if not raised:
        return False
    # Keep every level at least where it is, the raised ones at their new minimum.
    m = [lv.m_probability for lv in levels]
    low = [max(floors[id(lv)], 0.0) for lv in levels]
    new = _raise_and_renormalise(m, low)
    for level, value in zip(levels, new, strict=True):
        level.m_probability = value
    return True

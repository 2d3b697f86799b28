"""Statistical disclosure control rules: a registry of small values, SACRO/ACRO's by default.

Names and defaults follow SACRO's ``acro`` package (``default.yaml``), so an output checker who
knows ACRO recognises every decision:

* ``MinimumThresholdCheck`` — a cell with fewer than ``safe_threshold`` (10) contributors, or a
  count below it, is suppressed (zeros too: ``zeros_are_disclosive``);
* ``NKCheck`` — dominance: the largest ``safe_nk_n`` (2) values must make up less than
  ``safe_nk_k`` (90%) of a sum or mean's total;
* ``PPercentCheck`` — p-ratio: what is left after the two largest values must be at least
  ``safe_pratio_p`` (10%) of the largest;
* counts that pass are rounded to the nearest ``safe_round_base`` (5).

A trust adds its own rule with :func:`register_rule`; built-ins are registered the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class SDCSettings:
    """The risk appetite (ACRO's names)."""

    safe_threshold: int = 10
    safe_nk_n: int = 2
    safe_nk_k: float = 0.90
    safe_pratio_p: float = 0.10
    safe_round_base: int = 5
    zeros_are_disclosive: bool = True

    def with_threshold(self, threshold: int | None) -> SDCSettings:
        """These settings with the agreement's minimum cell size (never below the trust's)."""
        if threshold is None:
            return self
        return replace(self, safe_threshold=max(threshold, self.safe_threshold))


@dataclass(frozen=True)
class CellEvidence:
    """What is known of one cell of one measure when the rules run."""

    contributors: int  # distinct records behind the cell (the smallest over joined datasets)
    value: float | None  # the measure's value in the cell
    is_count: bool
    # One (total, largest, two largest, negatives) per SUM/AVG-like aggregate in the measure.
    values: tuple[tuple[float | None, float | None, float | None, int], ...] = ()


@dataclass(frozen=True)
class Rule:
    """One check: ``check`` returns why the cell must be suppressed, or None."""

    name: str
    check: Callable[[CellEvidence, SDCSettings], str | None]


RULES: list[Rule] = []


def register_rule(rule: Rule) -> Rule:
    """Add a rule to every later disclosure check (a trust's own, or a built-in)."""
    RULES[:] = [r for r in RULES if r.name != rule.name] + [rule]
    return rule


def minimum_threshold(cell: CellEvidence, s: SDCSettings) -> str | None:
    if cell.contributors < s.safe_threshold:
        return f"fewer than {s.safe_threshold} people in the cell ({_few(cell.contributors)})"
    if cell.is_count and cell.value is not None and cell.value < s.safe_threshold:
        if cell.value == 0 and not s.zeros_are_disclosive:
            return None
        return f"a count below {s.safe_threshold}"
    return None


def nk_dominance(cell: CellEvidence, s: SDCSettings) -> str | None:
    for total, _top1, top_n, negatives in cell.values:
        if negatives:
            return "dominance cannot be checked when some values are negative"
        if total and top_n is not None and total > 0 and top_n / total >= s.safe_nk_k:
            return (
                f"the largest {s.safe_nk_n} contributions make up {top_n / total:.0%} of the "
                f"total (limit {s.safe_nk_k:.0%})"
            )
    return None


def p_ratio(cell: CellEvidence, s: SDCSettings) -> str | None:
    for total, top1, top2, negatives in cell.values:
        if negatives or total is None or top1 is None or top2 is None or top1 == 0:
            continue
        if (total - top2) / top1 < s.safe_pratio_p:
            return (
                f"the rest of the total after the two largest is under {s.safe_pratio_p:.0%} of "
                "the largest, so the largest could be estimated"
            )
    return None


def _few(n: int) -> str:
    return "none" if n == 0 else "a few"


register_rule(Rule("MinimumThresholdCheck", minimum_threshold))
register_rule(Rule("NKCheck", nk_dominance))
register_rule(Rule("PPercentCheck", p_ratio))

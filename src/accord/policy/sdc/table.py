"""Apply disclosure control to an aggregate answer: primary and secondary suppression, rounding.

The answer is a table of cells: one row per combination of its dimension columns, one value per
measure column. Every cell of every measure goes through the registered rules; a cell that fails
is suppressed (shown empty) with the rule's reason. Then secondary suppression: along each
dimension, a line of cells (the others fixed) with exactly one suppressed cell gets its smallest
other cell suppressed too, so the suppressed one cannot be recovered by subtracting the others
from a row or column total. Counts that remain are rounded to the base; totals, when asked for,
are computed from the rounded released cells and rounded again (as ACRO does).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from accord.policy.sdc.rules import RULES, CellEvidence, SDCSettings


@dataclass(frozen=True)
class CellChange:
    """One cell the caller sees changed, and why."""

    row: int
    column: str
    action: str  # "suppressed", "rounded" or "total"
    rule: str
    reason: str

    def describe(self) -> str:
        return f"row {self.row + 1}, {self.column}: {self.action} — {self.reason}"


@dataclass
class MeasureCells:
    column: str
    is_count: bool
    evidence: list[CellEvidence]


@dataclass
class ControlledTable:
    rows: list[dict[str, Any]]
    changes: list[CellChange] = field(default_factory=list)
    suppressed_rows: set[int] = field(default_factory=set)  # every measure suppressed


def control(
    rows: list[dict[str, Any]],
    dimensions: list[str],
    measures: list[MeasureCells],
    settings: SDCSettings,
    *,
    differencing: dict[int, str] | None = None,
) -> ControlledTable:
    """Suppress and round ``rows`` (one dict per cell) in place of a copy; say what changed.

    ``differencing`` names cells (row index → reason) to suppress because, with an earlier
    answer, they would isolate fewer people than the threshold.
    """
    out = [dict(r) for r in rows]
    changes: list[CellChange] = []
    suppressed: dict[str, set[int]] = {m.column: set() for m in measures}
    for measure in measures:
        for i, cell in enumerate(measure.evidence):
            for rule in RULES:
                reason = rule.check(cell, settings)
                if reason:
                    suppressed[measure.column].add(i)
                    changes.append(CellChange(i, measure.column, "suppressed", rule.name, reason))
                    break
            else:
                if differencing and i in differencing:
                    suppressed[measure.column].add(i)
                    changes.append(
                        CellChange(
                            i, measure.column, "suppressed", "DifferencingCheck", differencing[i]
                        )
                    )
    for measure in measures:
        _secondary(out, dimensions, measure, suppressed[measure.column], changes)
    for measure in measures:
        for i in suppressed[measure.column]:
            out[i][measure.column] = None
        if measure.is_count and settings.safe_round_base > 1:
            base = settings.safe_round_base
            for i, row in enumerate(out):
                value = row.get(measure.column)
                if value is None or i in suppressed[measure.column]:
                    continue
                rounded = _round(value, base)
                if rounded != value:
                    row[measure.column] = rounded
                    changes.append(
                        CellChange(
                            i,
                            measure.column,
                            "rounded",
                            "Rounding",
                            f"rounded to the nearest {base}",
                        )
                    )
    all_suppressed = set.intersection(*suppressed.values()) if suppressed else set()
    changes.sort(key=lambda c: (c.row, c.column))
    return ControlledTable(rows=out, changes=changes, suppressed_rows=all_suppressed)


def add_totals(
    table: ControlledTable, dimensions: list[str], measures: list[MeasureCells], base: int
) -> None:
    """Append a total row (and, for two dimensions, sub-totals) from the released count cells."""
    counts = [m.column for m in measures if m.is_count]
    if not counts or not dimensions:
        return
    groupings: list[list[str]] = [[]]
    if len(dimensions) == 2:
        groupings = [[dimensions[0]], [dimensions[1]], []]
    released = [dict(r) for r in table.rows]
    for keep in groupings:
        sums: dict[tuple[Any, ...], dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for row in released:
            key = tuple(row[d] for d in keep)
            for column in counts:
                if row.get(column) is not None:
                    sums[key][column] += row[column]
        for key, values in sorted(sums.items(), key=lambda kv: tuple(str(k) for k in kv[0])):
            total: dict[str, Any] = {d: "Total" for d in dimensions}
            total.update(dict(zip(keep, key, strict=True)))
            for m in measures:
                total[m.column] = _round(values[m.column], base) if m.is_count else None
            index = len(table.rows)
            table.rows.append(total)
            table.changes.append(
                CellChange(
                    index,
                    ", ".join(counts),
                    "total",
                    "Totals",
                    "total of the released, rounded cells, rounded",
                )
            )


def _secondary(
    rows: list[dict[str, Any]],
    dimensions: list[str],
    measure: MeasureCells,
    suppressed: set[int],
    changes: list[CellChange],
) -> None:
    if not suppressed or len(rows) < 2:
        return
    size = {i: (cell.contributors, cell.value or 0) for i, cell in enumerate(measure.evidence)}
    changed = True
    while changed:
        changed = False
        for axis in range(max(len(dimensions), 1)):
            others = [d for j, d in enumerate(dimensions) if j != axis]
            lines: dict[tuple[Any, ...], list[int]] = defaultdict(list)
            for i, row in enumerate(rows):
                lines[tuple(row.get(d) for d in others)].append(i)
            for cells in lines.values():
                hidden = [i for i in cells if i in suppressed]
                shown = [i for i in cells if i not in suppressed]
                if len(hidden) == 1 and shown:
                    pick = min(shown, key=lambda i: size[i])
                    suppressed.add(pick)
                    changes.append(
                        CellChange(
                            pick,
                            measure.column,
                            "suppressed",
                            "SecondarySuppression",
                            f"protects the suppressed cell in row {hidden[0] + 1}, "
                            "which could otherwise be worked out from a total",
                        )
                    )
                    changed = True


def _round(value: float, base: int) -> int:
    # Round half up, as a person would (Python's round() goes to even).
    return int((float(value) + base / 2) // base * base)

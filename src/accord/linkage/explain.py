"""Explaining a pair: what each comparison contributed to the match weight.

The rows are Splink's waterfall data (prior, then one row per comparison with the level that
applied, its Bayes factor and its weight in bits, then the final score), suitable for a table in
the CLI and, unchanged, for a chart on the web later.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class ExplanationRow:
    comparison: str
    level: str
    value_left: str
    value_right: str
    weight: float  # bits this comparison adds (negative: against)
    cumulative: float  # running total of bits
    term_frequency_adjustment: bool = False


@dataclass
class Explanation:
    rows: list[ExplanationRow]
    match_weight: float
    match_probability: float

    def as_dicts(self) -> list[dict[str, Any]]:
        return [row.__dict__ for row in self.rows]


def explanation_from_waterfall(data: list[dict[str, Any]]) -> Explanation:
    """Turn Splink's waterfall records into rows a person can read."""
    rows: list[ExplanationRow] = []
    total = 0.0
    final_weight, final_probability = 0.0, 0.0
    for item in data:
        name = str(item.get("column_name", ""))
        if name == "Final score":
            final_weight = float(item.get("log2_bayes_factor") or 0.0)
            final_probability = float(item.get("bayes_factor") or 0.0)
            final_probability = final_probability / (1 + final_probability)
            continue
        weight = float(item.get("log2_bayes_factor") or 0.0)
        total += weight
        tf = name.startswith("tf_")
        rows.append(
            ExplanationRow(
                comparison=name.removeprefix("tf_") + (" (term frequency)" if tf else ""),
                level=str(item.get("label_for_charts") or ""),
                value_left=_fmt(item.get("value_l")),
                value_right=_fmt(item.get("value_r")),
                weight=round(weight, 3),
                cumulative=round(total, 3),
                term_frequency_adjustment=tf,
            )
        )
    return Explanation(rows, round(final_weight or total, 3), final_probability)


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    return str(value)

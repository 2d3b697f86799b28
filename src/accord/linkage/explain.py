"""Explaining a pair: what each comparison contributed to the match weight, and the records.

The rows are Splink's waterfall data (prior, then one row per comparison with the level that
applied, its Bayes factor and its weight in bits, then the final score), suitable for a table in
the CLI and, unchanged, for a chart on the web. Beside them come the two records as they stand in
their datasets: only the fields the agreement shares, read only for a user allowed to review
(they are people's identifiers; the service checks before reading).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from accord.catalogue.contract import Contract
from accord.core.engine.sql import ident
from accord.linkage.records import record_text
from accord.linkage.scope import Share, checked_scope, columns_read
from accord.linkage.source import LinkSource


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
class SharedField:
    """One shared field of a record, with the identifier role its contract gives it."""

    name: str
    role: str | None
    value: str | None


@dataclass
class SharedRecord:
    """A record's shared fields as they stand in its dataset's latest version.

    ``found`` is false when the record is no longer there, or has moved outside the agreement's
    row scope since the run (it is then not shared, and no field is given).
    """

    record: str  # MEMBER/DATASET:KEY
    fields: list[SharedField]
    found: bool = True


@dataclass
class SideBySide:
    """One line of the two records side by side: the fields of each that hold ``label``."""

    label: str
    left: list[SharedField]
    right: list[SharedField]


@dataclass
class Explanation:
    rows: list[ExplanationRow]
    match_weight: float
    match_probability: float
    records: list[SharedRecord] = field(default_factory=list)  # record A, record B

    def as_dicts(self) -> list[dict[str, Any]]:
        return [row.__dict__ for row in self.rows]

    def side_by_side(self) -> list[SideBySide]:
        """The two records' fields lined up: fields holding the same identifier role on one
        line (a pupil's ``home_postcode`` beside a resident's ``postcode``), then the others by
        name, in the order their contracts list them."""
        if len(self.records) != 2:
            return []
        left, right = self.records
        labels: list[str] = []
        for record in (left, right):
            for f in record.fields:
                label = _label(f)
                if label not in labels:
                    labels.append(label)
        return [
            SideBySide(
                label,
                [f for f in left.fields if _label(f) == label],
                [f for f in right.fields if _label(f) == label],
            )
            for label in labels
        ]


def _label(f: SharedField) -> str:
    return (f.role or f.name).replace("_", " ")


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


def with_evidence(
    explanation: Explanation,
    lines: list[tuple[str, str, float]],
    name: str = "household at address",
) -> Explanation:
    """``explanation`` with evidence measured outside the comparisons added as its own lines
    (``(whose record, level, bits)``, e.g. from ``absence.evidence``), and the score with it.

    Examples:
        >>> e = Explanation([ExplanationRow("given_name", "exact", "a", "a", 3.0, 3.0)], 3.0, 0.889)
        >>> e = with_evidence(e, [("camden/pupils", "family not at this address", 1.0)])
        >>> e.rows[-1].comparison, e.match_weight, round(e.match_probability, 3)
        ('household at address (camden/pupils)', 4.0, 0.941)
    """
    total = explanation.rows[-1].cumulative if explanation.rows else 0.0
    weight = explanation.match_weight
    for who, level, bits in lines:
        total += bits
        weight += bits
        explanation.rows.append(
            ExplanationRow(
                comparison=f"{name} ({who})",
                level=level,
                value_left="",
                value_right="",
                weight=round(bits, 3),
                cumulative=round(total, 3),
            )
        )
    if lines:
        explanation.match_weight = round(weight, 3)
        explanation.match_probability = 1 / (1 + 2 ** (-weight))
    return explanation


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    return str(value)


def identifier_share(contract: Contract) -> Share:
    """What to show of a dataset linked without an agreement in force (named datasets, a trust
    being set up): the fields linkage may compare, those with an identifier role."""
    return Share(fields=tuple(f.name for f in contract.fields if f.role is not None))


def read_record(ref: str, contract: Contract, path: Path, share: Share, key: str) -> SharedRecord:
    """One record of a dataset version (Parquet at ``path``), cut down to what ``share``
    shares: the shared fields and the record key, and nothing if the row is outside its scope.

    The record key is built as linkage builds it (the key fields joined with ``|``), and the
    row is found by DuckDB reading only the columns shared.
    """
    columns = columns_read(contract, share)
    key_sql = " || '|' || ".join(
        f"coalesce(CAST(d.{ident(k)} AS VARCHAR), '')"
        for k in LinkSource(ref, contract, path).key_fields()
    )
    scope = checked_scope(contract, share)
    sql = (
        f"SELECT {', '.join(f'd.{ident(c)}' for c in columns)} FROM read_parquet(?) AS d "
        f"WHERE {key_sql} = ?" + (f" AND ({scope})" if scope else "") + " LIMIT 1"
    )
    con = duckdb.connect(config={"threads": 1})
    try:
        found = con.execute(sql, [str(path), key]).fetchone()
    finally:
        con.close()
    text = record_text(ref, key)
    if found is None:
        return SharedRecord(text, [], found=False)
    roles = {f.name: f.role.value if f.role is not None else None for f in contract.fields}
    return SharedRecord(
        text,
        [
            SharedField(name, roles.get(name), None if value is None else str(value))
            for name, value in zip(columns, found, strict=True)
        ],
    )

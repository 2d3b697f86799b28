"""Invalid rows: values that break the extract's own contract, as real extracts carry.

A mistyped NHS number (wrong check digit), a date that does not exist (31/02/2011), a malformed
postcode, a code outside the contract's list, a required field left blank, a reference one digit
short. Each invalid row gets exactly one such value, in one field the contract checks, so an
ingest quarantines the row with a reason naming that field. Rows are corrupted after they are
written in the organisation's conventions, since an impossible date exists only as text.

Which field is corrupted is drawn per row among the ways that apply to it, each family of ways
(NHS number, date, postcode, code list, yes/no flag, blank, pattern) equally likely overall.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from accord.synth.extracts import Column, ExtractSpec

# Days that no month of that number has: (day, month).
_IMPOSSIBLE_DAYS = np.array([(30, 2), (31, 2), (31, 4), (31, 6), (31, 9), (31, 11)])
# A digit read or typed as the letter it looks like (0 as O, 1 as I, ...).
_DIGITS = list("0123456789")
_LOOKALIKES = list("OIZEASGTBP")

Corrupt = Callable[[pl.Series, np.random.Generator], pl.Series]


@dataclass(frozen=True)
class Way:
    """One way to make one column's value break the contract."""

    column: str
    family: str
    corrupt: Corrupt


def _nhs_number(values: pl.Series, rng: np.random.Generator) -> pl.Series:
    # Another last digit: the mod-11 check digit of a body is unique, so any other is wrong.
    shift = pl.Series(rng.integers(1, 10, values.len()))
    last = (values.str.tail(1).cast(pl.Int64) + shift) % 10
    return values.str.head(9) + last.cast(pl.String)


def _date(fmt: str | None) -> Corrupt:
    tokens: list[str] = []
    i, fmt = 0, fmt or "%Y-%m-%d"
    while i < len(fmt):
        step = 2 if fmt[i] == "%" else 1
        tokens.append(fmt[i : i + step])
        i += step

    def corrupt(values: pl.Series, rng: np.random.Generator) -> pl.Series:
        # Keep the year as written; a day the month does not have makes it no date at all.
        pick = _IMPOSSIBLE_DAYS[rng.integers(0, len(_IMPOSSIBLE_DAYS), values.len())]
        parts = {
            "%Y": values.str.extract(r"([0-9]{4})"),
            "%d": pl.Series(pick[:, 0]).cast(pl.String).str.zfill(2),
            "%m": pl.Series(pick[:, 1]).cast(pl.String).str.zfill(2),
        }
        frame = pl.DataFrame({f"p{n}": parts[t] for n, t in enumerate(tokens) if t in parts})
        exprs = [pl.col(f"p{n}") if t in parts else pl.lit(t) for n, t in enumerate(tokens)]
        return frame.select(pl.concat_str(exprs).alias("v")).to_series()

    return corrupt


def _postcode(values: pl.Series, rng: np.random.Generator) -> pl.Series:
    pc = pl.col("v")
    n = pc.str.len_chars()
    outward = pc.str.head(n - 4)
    frame = pl.DataFrame({"v": values, "op": rng.integers(0, 3, values.len())})
    return frame.select(
        pl.when(pl.col("op") == 0)
        .then(pc.str.head(n - 1))  # last letter lost: NW1 2A
        .when(pl.col("op") == 1)
        .then(pl.concat_str(outward, pl.lit(" "), pc.str.tail(2), pc.str.slice(n - 3, 1)))
        .otherwise(  # digits of the district read as letters: NWI 2AB
            pl.concat_str(outward.str.replace_many(_DIGITS, _LOOKALIKES), pc.str.tail(4))
        )
        .alias("v")
    ).to_series()


def _constant(value: str) -> Corrupt:
    return lambda values, rng: pl.Series([value] * values.len(), dtype=pl.String)


def _flag(column: Column) -> Corrupt:
    declared = {*(column.true_values or ()), *(column.false_values or ())}
    yes, no = ("Yes", "No") if not {"Yes", "No"} & declared else ("?", "?")
    true_values = list(column.true_values or ())
    return lambda values, rng: (
        pl.select(pl.when(values.is_in(true_values)).then(pl.lit(yes)).otherwise(pl.lit(no)))
        .to_series()
        .alias(values.name)
    )


def _blank(values: pl.Series, rng: np.random.Generator) -> pl.Series:
    return pl.Series([None] * values.len(), dtype=values.dtype)


def _short(column: Column) -> Corrupt:
    if column.role == "email":
        return lambda values, rng: values.str.replace("@", "", literal=True)
    return lambda values, rng: values.str.head(values.str.len_chars() - 1)  # a digit dropped


def ways(spec: ExtractSpec) -> list[Way]:
    """Every way a value of this extract can break its contract, column by column.

    Key columns the generator numbers later are left alone, and a primary key is never blanked,
    so every row still has its key in the ground truth.
    """
    out: list[Way] = []
    for c in spec.columns:
        if c.name == spec.primary_key and spec.make_ids is not None:
            continue
        if c.role == "nhs_number":
            out.append(Way(c.name, "nhs_number", _nhs_number))
        elif c.role == "postcode":
            out.append(Way(c.name, "postcode", _postcode))
        elif c.type == "date":
            out.append(Way(c.name, "date", _date(c.format)))
        elif c.enum and c.stray:
            out.append(Way(c.name, "enum", _constant(c.stray)))
        elif c.type == "boolean" and c.true_values:
            out.append(Way(c.name, "flag", _flag(c)))
        elif c.pattern:
            out.append(Way(c.name, "pattern", _short(c)))
        if c.required and c.name != spec.primary_key:
            out.append(Way(c.name, "required", _blank))
    return out


def inject_invalid(
    frame: pl.DataFrame, spec: ExtractSpec, rate: float, rng: np.random.Generator
) -> tuple[pl.DataFrame, pl.Series]:
    """Make about ``rate`` of the rendered rows of ``spec`` break its contract in one field.

    Returns the new rows and, row for row, the name of the corrupted field (null for a clean
    row). Only a present value is corrupted, so every chosen value really changes.
    """
    marker = pl.Series("invalid_field", [None] * frame.height, dtype=pl.String)
    options = ways(spec)
    if rate <= 0 or not options or frame.height == 0:
        return frame, marker
    idx = np.flatnonzero(rng.random(frame.height) < rate)
    if idx.size == 0:
        return frame, marker
    present = np.column_stack([frame[w.column].gather(idx).is_not_null() for w in options])
    families = [w.family for w in options]
    weight = np.array([1 / families.count(f) for f in families])
    # Weighted choice among the ways open to each row: the largest u ** (1 / weight) wins.
    score = np.where(present, rng.random(present.shape) ** (1 / weight), -1.0)
    chosen = score.argmax(axis=1)
    usable = present.any(axis=1)
    idx, chosen = idx[usable], chosen[usable]
    names = np.array([w.column for w in options], dtype=object)
    marker = marker.scatter(idx, pl.Series(names[chosen], dtype=pl.String))
    for k, way in enumerate(options):
        rows = idx[chosen == k]
        if rows.size == 0:
            continue
        old = frame[way.column]
        new = way.corrupt(old.gather(rows), rng).cast(old.dtype)
        frame = frame.with_columns(old.clone().scatter(rows, new))
    return frame, marker

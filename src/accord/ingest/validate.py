"""Check a batch against its contract in DuckDB, vectorised: no Python loop over rows.

The batch is a DuckDB table ``raw`` (one row per source data row, in source order). Checking
makes ``staged`` (row number, cleaned text and typed values), ``bad_rows`` (the numbers of rows
that fail a rule), ``suspects`` (those rows) and ``problems`` (one line per row and broken
rule). Uniqueness is checked only among rows that passed every row rule, so a duplicate key
keeps its first *good* occurrence and later ones are quarantined as "duplicate of row N".
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from accord.catalogue.contract import Contract, Role
from accord.errors import InvalidInput
from accord.ingest.casts import text_expr, typed_expr, typed_from_native
from accord.ingest.results import ReasonCount
from accord.ingest.rules import Finding, Target, findings
from accord.ingest.sql import ident, lit

# Quarantine columns before the raw values of the row.
QUARANTINE_COLUMNS = ("row_number", "field", "rule", "reason")


@dataclass(frozen=True)
class SourceColumn:
    """A column of the source batch: its name there and its DuckDB type."""

    name: str
    type: str = "VARCHAR"


@dataclass(frozen=True)
class Checked:
    """The outcome of checking one batch; the SQL reads the tables checking left behind."""

    rows_read: int
    rows_quarantined: int
    reasons: list[ReasonCount]
    good_sql: str
    quarantine_sql: str

    @property
    def rows_accepted(self) -> int:
        return self.rows_read - self.rows_quarantined


def check_contract_sql(con: duckdb.DuckDBPyConnection, contract: Contract) -> None:
    """Refuse a contract whose patterns or date formats DuckDB cannot use, naming the field."""
    for spec in contract.fields:
        pattern = spec.constraints.pattern
        if pattern is not None:
            try:
                con.execute(f"SELECT regexp_full_match('', {lit(pattern)})")
            except duckdb.Error as exc:
                raise InvalidInput(
                    f"Field {spec.name!r}: the pattern {pattern!r} is not supported by the "
                    f"checking engine (RE2 syntax, no look-arounds or back-references): {exc}"
                ) from exc
        if spec.type in ("date", "datetime") and spec.format not in ("default", "any"):
            try:
                con.execute(f"SELECT try_strptime('2020-01-01', {lit(spec.format)})")
            except duckdb.Error as exc:
                raise InvalidInput(
                    f"Field {spec.name!r}: the date format {spec.format!r} is not understood "
                    "(use strptime codes such as %d/%m/%Y)"
                ) from exc


def check_batch(
    con: duckdb.DuckDBPyConnection,
    contract: Contract,
    columns: dict[str, SourceColumn | None],
) -> Checked:
    """Check table ``raw`` against ``contract``; ``columns`` maps each field to its source column
    (None for an optional field the source lacks)."""
    check_contract_sql(con, contract)
    missing = contract.table_schema.missingValues
    inner = ["rowid + 1 AS __row"]
    outer = ["__row"]
    targets: dict[str, Target] = {}
    values = {
        spec.name: f"s{i}" if spec.type == "string" else f"t{i}"
        for i, spec in enumerate(contract.fields)
    }
    for i, spec in enumerate(contract.fields):
        source = columns.get(spec.name)
        if source is None:
            raw = "CAST(NULL AS VARCHAR)"
        elif source.type == "VARCHAR":
            raw = ident(source.name)
        else:
            raw = f"CAST({ident(source.name)} AS VARCHAR)"
        inner.append(f"{text_expr(spec, raw, missing)} AS s{i}")
        outer.append(f"s{i}")
        if spec.type != "string":  # a string's typed value is its text
            if source is not None and source.type != "VARCHAR":
                inner.append(f"{ident(source.name)} AS n{i}")
                outer.append(f"{typed_from_native(spec, f'n{i}', source.type)} AS t{i}")
            else:
                outer.append(f"{typed_expr(spec, f's{i}')} AS t{i}")
        digits = None
        if spec.role == Role.nhs_number:
            # The number as an integer once, so the check-digit arithmetic needs no casts.
            outer.append(
                f"CASE WHEN regexp_full_match(s{i}, '[0-9]{{10}}') THEN CAST(s{i} AS BIGINT) END "
                f"AS d{i}"
            )
            digits = f"d{i}"
        targets[spec.name] = Target(spec, contract, f"s{i}", values[spec.name], values, digits)

    row_found = findings(contract, targets, "row")
    set_found = findings(contract, targets, "set")
    # No COALESCE: a filter treats NULL as false, and a bare AND/OR chain lets DuckDB stop
    # evaluating as soon as the answer is known (a regex runs only where it must).
    bad = " OR ".join(f"({f.bad})" for _, _, f in row_found)
    try:
        # One pass over every row for text and types; then the rule checks run as a filter,
        # where DuckDB evaluates each AND/OR only as far as it must (cheap tests go first).
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE staged AS SELECT {', '.join(outer)} "
            f"FROM (SELECT {', '.join(inner)} FROM raw)"
        )
        # The failing rows' numbers, then those rows alone (about 1%) to say which rules fail.
        con.execute(
            "CREATE OR REPLACE TEMP TABLE bad_rows AS "
            f"SELECT __row FROM staged WHERE {bad or 'false'}"
        )
        con.execute(
            "CREATE OR REPLACE TEMP TABLE suspects AS "
            "SELECT * FROM staged SEMI JOIN bad_rows USING (__row)"
        )
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE problems AS {_problems_sql(row_found, set_found)}"
        )
        if set_found:
            # Later duplicates leave the good rows too.
            codes = ", ".join(lit(code) for _, code, _ in set_found)
            con.execute(
                f"INSERT INTO bad_rows SELECT DISTINCT __row FROM problems WHERE rule IN ({codes})"
            )
    except duckdb.Error as exc:
        raise InvalidInput(
            f"The contract of {contract.ref} cannot be applied to this file: {exc}"
        ) from exc

    rows_read = _scalar(con, "SELECT count(*) FROM raw")
    rows_quarantined = _scalar(con, "SELECT count(DISTINCT __row) FROM problems")
    reasons = _reason_counts(con, [*row_found, *set_found])
    columns_out = ", ".join(f"{values[s.name]} AS {ident(s.name)}" for s in contract.fields)
    return Checked(
        rows_read=rows_read,
        rows_quarantined=rows_quarantined,
        reasons=reasons,
        # An anti join streams the scan of staged, so the rows keep their source order.
        good_sql=f"SELECT {columns_out} FROM staged ANTI JOIN bad_rows USING (__row)",
        quarantine_sql=_quarantine_sql(contract, columns),
    )


def _problems_sql(
    row_found: list[tuple[str, str, Finding]], set_found: list[tuple[str, str, Finding]]
) -> str:
    branches = []
    for label, code, f in row_found:
        reason = f.reason_sql or lit(f.reason)
        branches.append(
            f"SELECT __row, {lit(label)} AS field, {lit(code)} AS rule, {reason} AS reason "
            f"FROM suspects WHERE ({f.bad})"
        )
    for label, code, f in set_found:
        reason = f.reason_sql or lit(f.reason)
        branches.append(
            f"SELECT __row, {lit(label)} AS field, {lit(code)} AS rule, reason FROM ("
            f"SELECT __row, COALESCE({f.bad}, false) AS __b, {reason} AS reason "
            "FROM staged ANTI JOIN bad_rows USING (__row)) WHERE __b"
        )
    if not branches:
        return (
            "SELECT CAST(NULL AS BIGINT) AS __row, CAST(NULL AS VARCHAR) AS field, "
            "CAST(NULL AS VARCHAR) AS rule, CAST(NULL AS VARCHAR) AS reason LIMIT 0"
        )
    return " UNION ALL ".join(f"({b})" for b in branches)


def _reason_counts(
    con: duckdb.DuckDBPyConnection, found: list[tuple[str, str, Finding]]
) -> list[ReasonCount]:
    static = {(label, code): f.reason for label, code, f in found}
    rows = con.execute(
        "SELECT field, rule, count(*) FROM problems GROUP BY ALL ORDER BY 3 DESC, 1, 2"
    ).fetchall()
    return [
        ReasonCount(field=field, rule=rule, reason=static.get((field, rule), rule), rows=n)
        for field, rule, n in rows
    ]


def quarantine_value_name(field: str) -> str:
    """The quarantine column holding a field's raw value (renamed if it clashes)."""
    return f"{field}_value" if field in QUARANTINE_COLUMNS else field


def _quarantine_sql(contract: Contract, columns: dict[str, SourceColumn | None]) -> str:
    raw_values = []
    for spec in contract.fields:
        source = columns.get(spec.name)
        value = f"CAST(r.{ident(source.name)} AS VARCHAR)" if source else "CAST(NULL AS VARCHAR)"
        raw_values.append(f"{value} AS {ident(quarantine_value_name(spec.name))}")
    return (
        "SELECT p.__row AS row_number, p.field, p.rule, p.reason, "
        f"{', '.join(raw_values)} FROM problems p JOIN raw r ON r.rowid + 1 = p.__row "
        "ORDER BY p.__row, p.field, p.rule"
    )


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    return int(row[0]) if row and row[0] is not None else 0

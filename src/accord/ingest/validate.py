"""Check a batch against its contract in DuckDB, vectorised: no Python loop over rows.

The source (a ``read_csv(...)``, ``read_parquet(...)``, ``read_json(...)`` or a registered Arrow
table) is read once, in one projection that cleans and types every value and evaluates every
row rule, into the table ``checked``: one row per source data row, in source order (its rowid
is the row number less one), holding the stored value of each field, a flag saying whether the
row broke a row rule, and the raw text of a value only where it cannot be recovered from the
stored one (so a typical string column is not held twice).

Uniqueness (the *set* rules) is then checked among the rows that passed every row rule, so a
duplicate key keeps its first *good* occurrence and later ones are quarantined as "duplicate of
row N"; a rule that names its key is checked with a hash aggregate over the key alone. Finally
the rules are evaluated one by one on the few bad rows (``suspects``) to say which rules each
broke (``problems``: one line per row and broken rule).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from accord.catalogue.contract import Contract, FieldSpec, Role
from accord.core.engine.sql import ident, lit
from accord.errors import InvalidInput
from accord.ingest.casts import (
    NHS_SHAPE,
    clean_expr,
    has_standard_form,
    normalise_expr,
    text_expr,
    text_keeps_raw,
    trimmed,
    typed_expr,
    typed_from_native,
    well_formed_expr,
)
from accord.ingest.results import ReasonCount
from accord.ingest.rules import Finding, Target, findings

# Quarantine columns before the raw values of the row.
QUARANTINE_COLUMNS = ("row_number", "field", "rule", "reason")

Found = list[tuple[str, str, Finding]]


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


class SourceError(Exception):
    """The source could not be read while it was being checked (the reader says why)."""

    def __init__(self, error: duckdb.Error) -> None:
        super().__init__(str(error))
        self.error = error


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


class _Plan:
    """The SQL names and expressions of one contract over one source."""

    def __init__(self, contract: Contract, columns: dict[str, SourceColumn | None]) -> None:
        self.contract = contract
        self.columns = columns
        self.missing = contract.table_schema.missingValues
        # A string's stored value is its cleaned text s<i>; any other type's is its typed t<i>.
        self.values = {
            spec.name: f"s{i}" if spec.type == "string" else f"t{i}"
            for i, spec in enumerate(contract.fields)
        }
        # String fields whose raw text is kept (packed) only where it differs from s<i>.
        self.strings = [i for i, spec in enumerate(contract.fields) if spec.type == "string"]
        self.targets = {
            spec.name: Target(
                spec,
                contract,
                f"s{i}",
                self.values[spec.name],
                self.values,
                f"d{i}" if spec.role == Role.nhs_number else None,
                f"w{i}" if has_standard_form(spec) else "false",
            )
            for i, spec in enumerate(contract.fields)
        }
        self.row_found = findings(contract, self.targets, "row")
        self.set_found = findings(contract, self.targets, "set")

    def native(self, spec: FieldSpec) -> SourceColumn | None:
        """The source column of a typed field that already has a type (Parquet, Arrow)."""
        source = self.columns.get(spec.name)
        if spec.type != "string" and source is not None and source.type != "VARCHAR":
            return source
        return None

    def checked_sql(self, relation: str) -> str:
        """One pass over the source: stored values, raw text where needed, and ``__bad``."""
        # Each level computes its columns once for the next (SELECT *, ... FROM level below):
        # read, clean, test the standard form, normalise, trim, type.
        read: list[str] = []
        levels: list[list[str]] = [[], [], [], [], []]
        out: list[str] = []
        differs: list[str] = []
        for i, spec in enumerate(self.contract.fields):
            source = self.columns.get(spec.name)
            if source is None:
                read.append(f"CAST(NULL AS VARCHAR) AS r{i}")
            elif source.type == "VARCHAR":
                read.append(f"{ident(source.name)} AS r{i}")
            else:
                read.append(f"CAST({ident(source.name)} AS VARCHAR) AS r{i}")
            native = self.native(spec)
            if native is not None:
                read.append(f"{ident(native.name)} AS n{i}")
            clean = clean_expr(f"r{i}", self.missing)
            well_formed = well_formed_expr(spec, f"c{i}")
            if text_keeps_raw(spec):
                levels[0].append(f"{clean} AS s{i}")
            else:
                levels[0].append(f"{clean} AS c{i}")
                if well_formed is not None:
                    levels[1].append(f"{well_formed} AS w{i}")
                    well_formed = f"w{i}"
                levels[2].append(f"{normalise_expr(spec, f'c{i}', well_formed)} AS s{i}")
            if spec.type != "string":
                if native is not None:
                    levels[4].append(f"{typed_from_native(spec, f'n{i}', native.type)} AS t{i}")
                else:
                    levels[3].append(f"{trimmed(f's{i}')} AS u{i}")
                    levels[4].append(f"{typed_expr(spec, f'u{i}', is_trimmed=True)} AS t{i}")
                # The raw text of a typed value cannot be rebuilt from it: keep it.
                out += [f"t{i}", f"r{i} AS q{i}"]
            else:
                # The cleaned text is the raw text or NULL (or a normalised form): the raw
                # text is kept only where it differs, which is rare.
                out.append(f"s{i}")
                if text_keeps_raw(spec):
                    differs.append(f"(s{i} IS NULL AND r{i} IS NOT NULL)")
                else:
                    differs.append(f"s{i} IS DISTINCT FROM r{i}")
            if spec.role == Role.nhs_number:
                levels[4].append(f"{_nhs_digits(f's{i}', well_formed)} AS d{i}")
        if differs:
            # One list column for the row (NULL nearly always) is cheaper to store than a
            # mostly-NULL column per field.
            raws = ", ".join(f"r{i}" for i in self.strings)
            out.append(f"CASE WHEN {' OR '.join(differs)} THEN [{raws}] END AS __raw")
        # CASE evaluates each WHEN only on the rows still undecided, and an AND inside a WHEN
        # only as far as it must: a costly test (a regex) runs on few rows.
        whens = " ".join(f"WHEN {f.bad} THEN true" for _, _, f in self.row_found)
        bad = f"CASE {whens} ELSE false END" if whens else "false"
        out.append(f"{bad} AS __bad")
        sql = f"SELECT {', '.join(read)} FROM {relation}"
        for level in levels:
            if level:
                sql = f"SELECT *, {', '.join(level)} FROM ({sql})"
        return f"SELECT {', '.join(out)} FROM ({sql})"

    def view_sql(self, where: str) -> str:
        """Rows of ``checked`` as the rules see them (``__row``, s<i>, t<i>, d<i>, w<i>) with
        their raw values r<i>; DuckDB computes only the columns a query uses."""
        inner = ["rowid + 1 AS __row", "__bad"]
        outer = ["*"]
        for i, spec in enumerate(self.contract.fields):
            if spec.type == "string":
                k = self.strings.index(i) + 1
                inner += [f"s{i}", f"CASE WHEN __raw IS NULL THEN s{i} ELSE __raw[{k}] END AS r{i}"]
            else:
                inner += [
                    f"t{i}",
                    f"q{i} AS r{i}",
                    f"{text_expr(spec, f'q{i}', self.missing)} AS s{i}",
                ]
            if spec.role == Role.nhs_number:
                outer.append(f"{_nhs_digits(f's{i}')} AS d{i}")
            if has_standard_form(spec):
                outer.append(f"false AS w{i}")  # not known here: the rules test the value
        return (
            f"SELECT {', '.join(outer)} FROM (SELECT {', '.join(inner)} FROM checked WHERE {where})"
        )

    def raw_values_sql(self, alias: str) -> str:
        names = [
            f"{alias}.r{i} AS {ident(quarantine_value_name(spec.name))}"
            for i, spec in enumerate(self.contract.fields)
        ]
        return ", ".join(names)


def _nhs_digits(text: str, well_formed: str | None = None) -> str:
    # The number as an integer once, so the check-digit arithmetic needs no casts. A value
    # already known to be ten digits is not matched again.
    keep = f"WHEN {well_formed} THEN CAST({text} AS BIGINT) " if well_formed else ""
    return (
        f"CASE {keep}WHEN regexp_full_match({text}, {lit(NHS_SHAPE)}) "
        f"THEN CAST({text} AS BIGINT) END"
    )


def check_batch(
    con: duckdb.DuckDBPyConnection,
    contract: Contract,
    columns: dict[str, SourceColumn | None],
    relation: str,
) -> Checked:
    """Read ``relation`` (a table function or table name) and check it against ``contract``;
    ``columns`` maps each field to its source column (None for an optional field the source
    lacks). Raises :class:`SourceError` when the source itself cannot be read."""
    check_contract_sql(con, contract)
    plan = _Plan(contract, columns)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE checked AS {plan.checked_sql(relation)}")
    except duckdb.Error as exc:
        if _unreadable(con, relation, columns):
            raise SourceError(exc) from exc
        raise _cannot_apply(contract, exc) from exc
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE set_problems AS {_set_sql(con, plan)}")
        rows_read = _scalar(con, "SELECT count(*) FROM checked")
        set_bad = _scalar(con, "SELECT count(*) FROM set_problems")
        if set_bad:
            # Later duplicates leave the good rows too. Flagging them (few rows, cheap) keeps
            # the good rows a plain filtered scan, which keeps source order (a join may not),
            # and lets the filter below find them without a join over every row.
            con.execute(
                "UPDATE checked SET __bad = true "
                "WHERE rowid + 1 IN (SELECT __row FROM set_problems) AND NOT __bad"
            )
        # The rows that go to quarantine (about 1%), with their raw values. A plain filter on
        # __bad lets DuckDB read the other columns only for the rows that pass it. (A later
        # duplicate passed every row rule, so the row rules find nothing more in it.)
        con.execute(f"CREATE OR REPLACE TEMP TABLE suspects AS {plan.view_sql('__bad')}")
        con.execute(f"CREATE OR REPLACE TEMP TABLE problems AS {_problems_sql(plan.row_found)}")
    except duckdb.Error as exc:
        raise _cannot_apply(contract, exc) from exc

    rows_quarantined = _scalar(con, "SELECT count(DISTINCT __row) FROM problems")
    reasons = _reason_counts(con, [*plan.row_found, *plan.set_found])
    columns_out = ", ".join(f"{plan.values[s.name]} AS {ident(s.name)}" for s in contract.fields)
    good_sql = f"SELECT {columns_out} FROM checked WHERE NOT __bad"
    return Checked(
        rows_read=rows_read,
        rows_quarantined=rows_quarantined,
        reasons=reasons,
        good_sql=good_sql,
        quarantine_sql=(
            "SELECT p.__row AS row_number, p.field, p.rule, p.reason, "
            f"{plan.raw_values_sql('s')} FROM problems p JOIN suspects s USING (__row) "
            "ORDER BY p.__row, p.field, p.rule"
        ),
    )


def _unreadable(
    con: duckdb.DuckDBPyConnection, relation: str, columns: dict[str, SourceColumn | None]
) -> bool:
    """Whether reading the source alone fails (rather than the contract's checks on it)."""
    names = sorted({c.name for c in columns.values() if c is not None})
    select = ", ".join(f"max(CAST({ident(n)} AS VARCHAR))" for n in names) or "count(*)"
    try:
        con.execute(f"SELECT {select} FROM {relation}").fetchall()
    except duckdb.Error:
        return True
    return False


def _cannot_apply(contract: Contract, exc: duckdb.Error) -> InvalidInput:
    return InvalidInput(f"The contract of {contract.ref} cannot be applied to this file: {exc}")


def _set_sql(con: duckdb.DuckDBPyConnection, plan: _Plan) -> str:
    """Set-rule problems among the rows that passed every row rule."""
    branches = []
    for j, (label, code, f) in enumerate(plan.set_found):
        reason = f.reason_sql or lit(f.reason)
        if f.key:
            # Keys that repeat, with their first good row: a hash aggregate over the key alone.
            keys = [f"{k} AS __k{n}" for n, k in enumerate(f.key)]
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE repeats{j} AS SELECT {', '.join(keys)}, "
                "min(rowid) + 1 AS __first FROM checked WHERE NOT __bad "
                f"GROUP BY ALL HAVING count(*) > 1"
            )
            same = " AND ".join(f"({k}) IS NOT DISTINCT FROM r.__k{n}" for n, k in enumerate(f.key))
            rows = (
                "SELECT * FROM (SELECT rowid + 1 AS __row, * FROM checked WHERE NOT __bad) "
                f"JOIN repeats{j} r ON {same}"
            )
        else:  # a rule of its own (e.g. a window function over the good rows)
            rows = plan.view_sql("NOT __bad")
        branches.append(
            f"SELECT __row, {lit(label)} AS field, {lit(code)} AS rule, reason FROM ("
            f"SELECT __row, COALESCE({f.bad}, false) AS __b, {reason} AS reason FROM ({rows})) "
            "WHERE __b"
        )
    return _union(branches)


def _problems_sql(row_found: Found) -> str:
    branches = [
        f"SELECT __row, {lit(label)} AS field, {lit(code)} AS rule, "
        f"{f.reason_sql or lit(f.reason)} AS reason FROM suspects WHERE __bad AND ({f.bad})"
        for label, code, f in row_found
    ]
    return _union([*branches, "SELECT * FROM set_problems"])


def _union(branches: list[str]) -> str:
    if not branches:
        return (
            "SELECT CAST(NULL AS BIGINT) AS __row, CAST(NULL AS VARCHAR) AS field, "
            "CAST(NULL AS VARCHAR) AS rule, CAST(NULL AS VARCHAR) AS reason LIMIT 0"
        )
    return " UNION ALL ".join(f"({b})" for b in branches)


def _reason_counts(con: duckdb.DuckDBPyConnection, found: Found) -> list[ReasonCount]:
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


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    return int(row[0]) if row and row[0] is not None else 0

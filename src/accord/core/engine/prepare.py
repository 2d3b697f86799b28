"""The trust's side of lock 2: cut a dataset version down to what one grant lets a query see.

This runs on a separate DuckDB connection that may read the trust's Parquet files (the caller's
SQL never runs here). It keeps the granted columns only, applies the agreement's row scope,
removes people who opted out, adds the linked view's ``person_key`` as a pseudonym for this
recipient and agreement, and numbers each row with a hidden row number. The result is an Arrow
table for the sandbox, plus an identity table (row number → record key and trust-wide person
key) that never leaves the trust's side.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from accord.core.engine.hmac_sql import hmac_sha256_sql

PERSON_KEY = "person_key"
NHS_DIGITS = "regexp_replace(CAST({col} AS VARCHAR), '[^0-9]', '', 'g')"


@dataclass(frozen=True)
class OptOutFilter:
    """Who to leave out: keyed hashes of NHS numbers (matched on ``nhs_column``), person keys."""

    hash_key: bytes
    nhs_hashes: tuple[str, ...] = ()
    nhs_column: str | None = None
    person_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class Preparation:
    """How to prepare one dataset version for one grant."""

    dataset: str  # "member/name"
    path: Path
    columns: tuple[str, ...]  # granted contract columns
    hidden: str  # the hidden row-number column
    offset: int = 0  # added to row numbers so they are unique across datasets
    row_scope: str | None = None  # a checked SQL predicate over the dataset's columns
    primary_key: tuple[str, ...] = ()
    keys_path: Path | None = None  # linkage keys: dataset, record_key, person_key, probability
    pseudonym_key: bytes | None = None  # the recipient's key for person_key pseudonyms
    opt_out: OptOutFilter | None = None
    extra: dict[str, str] = field(default_factory=dict)


@dataclass
class Prepared:
    data: pa.Table  # what the sandbox sees
    identities: pa.Table  # hidden row number -> record_key, person_key (trust side only)


def prepare(p: Preparation, *, threads: int = 2) -> Prepared:
    """Read, cut down and number one dataset version (see module docstring)."""
    connection = duckdb.connect(":memory:", config={"threads": threads})
    try:
        return _prepare(connection, p)
    finally:
        connection.close()


def _prepare(connection: duckdb.DuckDBPyConnection, p: Preparation) -> Prepared:
    files = [str(p.path)] if p.path.is_file() else sorted(str(f) for f in p.path.rglob("*.parquet"))
    if not files:
        raise FileNotFoundError(f"no Parquet files for {p.dataset} in {p.path}")
    file_list = "[" + ", ".join(_lit(f) for f in files) + "]"
    row = (
        f"({p.offset} + (list_position({file_list}, d.filename) - 1) * 4294967296 "
        "+ d.file_row_number)::BIGINT"
    )
    record_key = (
        " || '|' || ".join(f"coalesce(CAST(d.{_q(k)} AS VARCHAR), '')" for k in p.primary_key)
        if p.primary_key
        else "'#' || CAST(d.file_row_number AS VARCHAR)"
    )
    selects = [f"d.{_q(c)} AS {_q(c)}" for c in p.columns]
    joins = ""
    linked = p.keys_path is not None and p.pseudonym_key is not None
    if linked:
        assert p.keys_path is not None and p.pseudonym_key is not None
        joins = (
            " LEFT JOIN (SELECT record_key, arg_max(person_key, match_probability) AS person_key "
            f"FROM read_parquet({_lit(str(p.keys_path))}) WHERE dataset = {_lit(p.dataset)} "
            "GROUP BY record_key) k ON k.record_key = " + record_key
        )
        selects.append(
            f"{hmac_sha256_sql(p.pseudonym_key, 'k.person_key', length=32)} AS {_q(PERSON_KEY)}"
        )
    selects.append(f"{row} AS {_q(p.hidden)}")
    where = [f"({p.row_scope})"] if p.row_scope else []
    where.extend(_opt_out_conditions(connection, p.opt_out, linked))
    source = f"read_parquet({file_list}, filename=true, file_row_number=true) d"
    sql = f"SELECT {', '.join(selects)}, {record_key} AS __record_key" + (
        ", k.person_key AS __person_key" if linked else ", NULL::VARCHAR AS __person_key"
    )
    sql += f" FROM {source}{joins}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    table = connection.sql(sql).to_arrow_table()
    identities = pa.table(
        {
            "row": table.column(p.hidden),
            "record_key": table.column("__record_key"),
            "person_key": table.column("__person_key"),
        }
    )
    data = table.drop_columns(["__record_key", "__person_key"])
    return Prepared(data=data, identities=identities)


def _opt_out_conditions(
    connection: duckdb.DuckDBPyConnection, opt_out: OptOutFilter | None, linked: bool
) -> list[str]:
    if opt_out is None:
        return []
    conditions = []
    if opt_out.nhs_column and opt_out.nhs_hashes:
        connection.register("__optout_nhs", pa.table({"h": list(opt_out.nhs_hashes)}))
        digits = NHS_DIGITS.format(col=f"d.{_q(opt_out.nhs_column)}")
        hashed = hmac_sha256_sql(opt_out.hash_key, digits)
        conditions.append(
            f"(d.{_q(opt_out.nhs_column)} IS NULL OR {hashed} NOT IN (SELECT h FROM __optout_nhs))"
        )
    if linked and opt_out.person_keys:
        connection.register("__optout_pk", pa.table({"k": list(opt_out.person_keys)}))
        conditions.append(
            "(k.person_key IS NULL OR k.person_key NOT IN (SELECT k FROM __optout_pk))"
        )
    return conditions


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"

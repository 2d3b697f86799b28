"""The trust's side of lock 2: cut a dataset version down to what one grant lets a query see.

This runs on a separate DuckDB connection that may read the trust's Parquet files (the caller's
SQL never runs here). It keeps the granted columns only, applies the agreement's row scope,
removes people who opted out, adds the linked view's ``person_key`` as a pseudonym for this
recipient and agreement, and numbers each row with a hidden row number: ``offset`` plus the
row's position in the prepared table, so the trust maps a row number back to its record by
position (an array look-up, not a join). The result is an Arrow table for the sandbox (written
into the grant's sandbox database, :mod:`accord.core.engine.database`), plus an identity table
(by position: record key, trust-wide person key, a stable 64-bit hash of the record) that never
leaves the trust's side.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from accord.core.engine.hmac_sql import hmac_sha256_sql
from accord.core.engine.sql import ident, lit

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
    """One dataset version cut down for one grant.

    ``identities`` is in the same order as ``data`` (row ``i`` of one is row ``i`` of the other):
    ``record_key``, ``person_key`` (trust-wide; null when nothing is linked) and ``record_hash``
    (a stable 64-bit hash of ``dataset|record_key``, for differencing signatures).
    """

    data: pa.Table  # what the sandbox sees
    identities: pa.Table  # position -> record_key, person_key, hashes (trust side only)
    unique_records: bool = True  # no two rows share a record key
    offset: int = 0  # hidden row number of position 0

    def positions(self, rows: pa.Array | np.ndarray) -> np.ndarray:
        """Hidden row numbers of this dataset -> positions in ``identities``."""
        values = rows.to_numpy(zero_copy_only=False) if isinstance(rows, pa.Array) else rows
        return np.asarray(values, dtype=np.int64) - self.offset


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
    file_list = "[" + ", ".join(lit(f) for f in files) + "]"
    record_key = record_key_sql(p.primary_key, table="d")
    selects = [f"d.{ident(c)} AS {ident(c)}" for c in p.columns]
    joins = ""
    linked = p.keys_path is not None and p.pseudonym_key is not None
    if linked:
        assert p.keys_path is not None and p.pseudonym_key is not None
        joins = (
            " LEFT JOIN (SELECT record_key, arg_max(person_key, match_probability) AS person_key "
            f"FROM read_parquet({lit(str(p.keys_path))}) WHERE dataset = {lit(p.dataset)} "
            "GROUP BY record_key) k ON k.record_key = " + record_key
        )
        selects.append(
            f"{hmac_sha256_sql(p.pseudonym_key, 'k.person_key', length=32)} AS {ident(PERSON_KEY)}"
        )
    where = [f"({p.row_scope})"] if p.row_scope else []
    where.extend(_opt_out_conditions(connection, p.opt_out, linked))
    source = f"read_parquet({file_list}, file_row_number=true) d"
    person = "k.person_key" if linked else "NULL::VARCHAR"
    # md5 is fixed by its standard, unlike DuckDB's hash(): the hashes are kept with releases
    # and compared across versions of the engine.
    trust_side = [
        f"{record_key} AS __record_key",
        f"{person} AS __person_key",
        f"md5_number_lower({lit(p.dataset + '|')} || {record_key}) AS __record_hash",
    ]
    sql = f"SELECT {', '.join(selects + trust_side)} FROM {source}{joins}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    table = connection.sql(sql).to_arrow_table()
    rows = pa.array(np.arange(table.num_rows, dtype=np.int64) + p.offset)
    record_keys = table.column("__record_key")
    identities = pa.table(
        {  # one chunk per column: positions index straight into NumPy views of them
            "row": rows,
            "record_key": record_keys,
            "person_key": table.column("__person_key"),
            "record_hash": table.column("__record_hash"),
        }
    )
    identities = identities.combine_chunks()
    data = _dictionary_encoded(table.select(list(range(len(selects)))).combine_chunks())
    data = data.append_column(p.hidden, rows)
    unique = pc.count_distinct(record_keys, mode="all").as_py() == table.num_rows
    return Prepared(data=data, identities=identities, unique_records=unique, offset=p.offset)


def _dictionary_encoded(table: pa.Table) -> pa.Table:
    """Text columns with few distinct values (boroughs, bands, names) as Arrow dictionaries:
    DuckDB scans and groups them as codes, at a fraction of the cost of the text. The values,
    and what a query sees, are unchanged."""
    for i, column in enumerate(table.schema):
        if not pa.types.is_string(column.type) or table.num_rows < 64:
            continue
        encoded = pc.dictionary_encode(table.column(i)).combine_chunks()
        if len(encoded.dictionary) <= table.num_rows // 4:
            table = table.set_column(i, column.name, encoded)
    return table


def _opt_out_conditions(
    connection: duckdb.DuckDBPyConnection, opt_out: OptOutFilter | None, linked: bool
) -> list[str]:
    if opt_out is None:
        return []
    conditions = []
    if opt_out.nhs_column and opt_out.nhs_hashes:
        connection.register("__optout_nhs", pa.table({"h": list(opt_out.nhs_hashes)}))
        column = f"d.{ident(opt_out.nhs_column)}"
        hashed = hmac_sha256_sql(opt_out.hash_key, NHS_DIGITS.format(col=column))
        conditions.append(f"({column} IS NULL OR {hashed} NOT IN (SELECT h FROM __optout_nhs))")
    if linked and opt_out.person_keys:
        connection.register("__optout_pk", pa.table({"k": list(opt_out.person_keys)}))
        conditions.append(
            "(k.person_key IS NULL OR k.person_key NOT IN (SELECT k FROM __optout_pk))"
        )
    return conditions


def record_key_sql(primary_key: list[str], *, table: str = "") -> str:
    """SQL for a record's key: its primary key fields joined by '|', or '#' and its row number
    in the file (read with ``file_row_number=true``). The citizen's view finds records by it."""
    prefix = f"{table}." if table else ""
    if not primary_key:
        return f"'#' || CAST({prefix}file_row_number AS VARCHAR)"
    return " || '|' || ".join(
        f"coalesce(CAST({prefix}{ident(k)} AS VARCHAR), '')" for k in primary_key
    )

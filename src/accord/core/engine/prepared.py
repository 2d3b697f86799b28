"""Statements prepared once per DuckDB connection and then run by name.

DuckDB plans a statement each time it runs it. For a statement over one arriving record
(incremental matching prepares the record, then scores it against its candidates) planning
costs more than running, and the same text comes again with every record. Prepared once on a
connection, the statement is run by name; DuckDB binds it again by itself when a table
registered under a name it reads has been replaced since.

Examples:
    >>> import duckdb, pyarrow as pa
    >>> con = duckdb.connect()
    >>> con.register("t", pa.table({"x": [1, 2]}))  # doctest: +ELLIPSIS
    <...>
    >>> run_prepared(con, "SELECT max(x) AS s FROM t").column("s").to_pylist()
    [2]
    >>> con.register("t", pa.table({"x": [5]}))  # doctest: +ELLIPSIS
    <...>
    >>> run_prepared(con, "SELECT max(x) AS s FROM t").column("s").to_pylist()
    [5]
"""

from __future__ import annotations

import hashlib
import weakref

import duckdb
import pyarrow as pa

# Per connection: the names prepared on it. Weak, so a closed and dropped connection takes its
# names with it. A name is a digest of the statement's text, so one name never stands for two
# statements, and preparing the same one twice (two threads at once) does no harm.
_PREPARED: weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, set[str]] = (
    weakref.WeakKeyDictionary()
)


def run_prepared(con: duckdb.DuckDBPyConnection, sql: str) -> pa.Table:
    """The result of ``sql`` (one SELECT) as Arrow, prepared on ``con`` the first time."""
    name = "__accord_prepared_" + hashlib.sha256(sql.encode()).hexdigest()[:24]
    names = _PREPARED.setdefault(con, set())
    if name not in names:
        con.execute(f"PREPARE {name} AS {sql}")
        names.add(name)
    return con.sql(f"EXECUTE {name}").to_arrow_table()


__all__ = ["run_prepared"]

"""Statements prepared once per connection answer for the data registered when they run."""

from __future__ import annotations

import duckdb
import pyarrow as pa

from accord.core.engine.prepared import run_prepared

SQL = "SELECT name, upper(name) AS shout FROM people ORDER BY name"


def test_a_prepared_statement_reads_the_table_registered_at_each_run() -> None:
    con = duckdb.connect()
    con.register("people", pa.table({"name": ["ada", "bo"]}))
    assert run_prepared(con, SQL).column("shout").to_pylist() == ["ADA", "BO"]
    # Replaced under the same name, with another column before it: bound again by itself.
    con.register("people", pa.table({"age": [7], "name": ["cy"]}))
    assert run_prepared(con, SQL).column("shout").to_pylist() == ["CY"]
    # ...and with another type: numbers, then text again.
    top = "SELECT max(name) AS top FROM people"
    con.register("people", pa.table({"name": [3, 1]}))
    assert run_prepared(con, top).column("top").to_pylist() == [3]
    con.register("people", pa.table({"name": ["dee", "al"]}))
    assert run_prepared(con, top).column("top").to_pylist() == ["dee"]


def test_each_connection_prepares_its_own_statements() -> None:
    first, second = duckdb.connect(), duckdb.connect()
    first.register("people", pa.table({"name": ["ada"]}))
    second.register("people", pa.table({"name": ["zed"]}))
    assert run_prepared(first, SQL).column("name").to_pylist() == ["ada"]
    assert run_prepared(second, SQL).column("name").to_pylist() == ["zed"]


def test_a_statement_that_cannot_run_says_why() -> None:
    con = duckdb.connect()
    try:
        run_prepared(con, SQL)
    except duckdb.Error as error:
        assert "people" in str(error)
    else:
        raise AssertionError("a statement over a missing table ran")

"""Lock 2 — while a query runs: a fresh DuckDB connection that can see only granted data.

Each query gets its own in-memory connection, opened with file and network access switched off
and its configuration locked before any of the caller's SQL runs; memory, threads and time are
bounded (a timer interrupts the connection). The only data it holds is what the trust registered:
Arrow tables already cut down to the granted columns and in-scope rows (opt-outs removed). Each
is registered under a random name and shown to the query as a view ``member.dataset`` in a schema
per member; the random names hold nothing the views do not.
"""

from __future__ import annotations

import secrets
import threading
from pathlib import Path

import duckdb
import pyarrow as pa

from accord.core.engine.base import Limits, TableInput
from accord.errors import AccordError


class QueryTimedOut(AccordError):
    code = "query-timed-out"
    status = 408


class QueryFailed(AccordError):
    code = "query-failed"
    status = 422


def locked_config(limits: Limits, temp_directory: Path | None) -> dict[str, str | bool | int]:
    """The DuckDB settings of a sandbox connection (locked once set)."""
    config: dict[str, str | bool | int] = {
        "enable_external_access": False,
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        "allow_community_extensions": False,
        "allow_unsigned_extensions": False,
        "memory_limit": limits.memory,
        "threads": limits.threads,
        "lock_configuration": True,
    }
    if temp_directory is not None:
        config["temp_directory"] = str(temp_directory)
    return config


class DuckDBSandbox:
    """The default engine: DuckDB, one locked connection per query.

    Examples:
        >>> import pyarrow as pa
        >>> sandbox = DuckDBSandbox()
        >>> data = pa.table({"borough": ["camden", "islington"]})
        >>> sandbox.run([TableInput("camden", "pupils", data)],
        ...             ["SELECT count(*) AS n FROM camden.pupils"], Limits())[0].to_pylist()
        [{'n': 2}]
    """

    def __init__(self, temp_directory: Path | None = None) -> None:
        self.temp_directory = temp_directory

    def run(self, inputs: list[TableInput], sql: list[str], limits: Limits) -> list[pa.Table]:
        if self.temp_directory is not None:
            self.temp_directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        connection = duckdb.connect(":memory:", config=locked_config(limits, self.temp_directory))
        try:
            self._expose(connection, inputs)
            return [self._run_one(connection, statement, limits) for statement in sql]
        finally:
            connection.close()

    @staticmethod
    def _expose(connection: duckdb.DuckDBPyConnection, inputs: list[TableInput]) -> None:
        schemas: set[str] = set()
        for item in inputs:
            hidden = f"__accord_input_{secrets.token_hex(12)}"
            connection.register(hidden, item.data)
            if item.schema not in schemas:
                connection.execute(f"CREATE SCHEMA {_quote(item.schema)}")
                schemas.add(item.schema)
            connection.execute(
                f"CREATE VIEW {_quote(item.schema)}.{_quote(item.name)} AS "
                f"SELECT * FROM {_quote(hidden)}"
            )

    @staticmethod
    def _run_one(connection: duckdb.DuckDBPyConnection, sql: str, limits: Limits) -> pa.Table:
        timer = threading.Timer(limits.seconds, connection.interrupt)
        timer.daemon = True
        timer.start()
        try:
            return connection.sql(sql).to_arrow_table()
        except duckdb.InterruptException as exc:
            raise QueryTimedOut(
                f"The query ran for more than {limits.seconds:g} seconds and was stopped; "
                "narrow it down (fewer rows, fewer joins) and try again"
            ) from exc
        except duckdb.OutOfMemoryException as exc:
            raise QueryFailed(
                f"The query needed more than {limits.memory} of memory and was stopped"
            ) from exc
        except duckdb.Error as exc:
            message = str(exc).splitlines()[0]
            raise QueryFailed(f"The engine could not run the query: {message}") from exc
        finally:
            timer.cancel()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'

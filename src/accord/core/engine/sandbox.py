"""Lock 2 — while a query runs: a fresh DuckDB connection that can see only granted data.

Each query gets its own connection, opened with file and network access switched off and its
configuration locked before any of the caller's SQL runs; memory, threads and time are bounded
(a timer interrupts the connection). The only data it can see was cut down on the trust's side
to the granted columns and in-scope rows (opt-outs removed), either

* a grant's sandbox database (:mod:`accord.core.engine.database`), opened read-only: the query
  path's default, as DuckDB scans its own tables fastest; or
* Arrow tables registered on a new in-memory connection, each under a random name and shown to
  the query as a view ``member.dataset`` in a schema per member (the random names hold nothing
  the views do not).
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa

from accord.core.engine.base import Limits, TableInput
from accord.core.engine.sql import ident
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

    def __init__(self, temp_directory: Path | None = None, keep_open: int = 16) -> None:
        self.temp_directory = temp_directory
        self.keep_open = keep_open  # sandbox databases kept open
        self._databases: OrderedDict[tuple[str, str, int], duckdb.DuckDBPyConnection] = (
            OrderedDict()
        )
        self._lock = threading.Lock()

    def run(self, inputs: list[TableInput], sql: list[str], limits: Limits) -> list[pa.Table]:
        if self.temp_directory is not None:
            self.temp_directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        connection = duckdb.connect(":memory:", config=locked_config(limits, self.temp_directory))
        try:
            self._expose(connection, inputs)
            return [self._run_one(connection, statement, limits) for statement in sql]
        finally:
            connection.close()

    def run_database(self, database: Path, sql: list[str], limits: Limits) -> list[pa.Table]:
        """Run each statement of ``sql`` on a new connection to a sandbox database.

        The database is opened once, read-only, external access off and configuration locked
        (about 11 ms, a quarter of a 10-million-row aggregate), and kept; each question gets a
        connection of its own to it (``cursor()``: a new DuckDB client context), closed after.
        Nothing a question does can outlive its connection: the database cannot be written,
        settings cannot change, and what a connection may create (temporary tables, macros)
        belongs to it alone. The memory limit is the opened database's, shared by questions
        that run on it at the same moment.
        """
        opened = self._opened(database, limits)
        connection = opened.cursor()
        try:
            return [self._run_one(connection, statement, limits) for statement in sql]
        finally:
            connection.close()

    def _opened(self, database: Path, limits: Limits) -> duckdb.DuckDBPyConnection:
        key = (str(database), limits.memory, limits.threads)
        with self._lock:
            found = self._databases.get(key)
            if found is None:
                # DuckDB opens a file once per process, with one configuration: other limits
                # for the same database close the instance opened with the old ones.
                for other in [k for k in self._databases if k[0] == key[0]]:
                    self._databases.pop(other).close()
                if self.temp_directory is not None:
                    self.temp_directory.mkdir(parents=True, exist_ok=True, mode=0o700)
                found = duckdb.connect(
                    str(database),
                    read_only=True,
                    config=locked_config(limits, self.temp_directory),
                )
                self._databases[key] = found
                while len(self._databases) > self.keep_open:
                    _, oldest = self._databases.popitem(last=False)
                    oldest.close()
            else:
                self._databases.move_to_end(key)
            return found

    def forget(self, database: Path) -> None:
        """Close a kept sandbox database (before its file is removed)."""
        with self._lock:
            for key in [k for k in self._databases if k[0] == str(database)]:
                self._databases.pop(key).close()

    @staticmethod
    def _expose(connection: duckdb.DuckDBPyConnection, inputs: list[TableInput]) -> None:
        schemas: set[str] = set()
        for item in inputs:
            hidden = f"__accord_input_{secrets.token_hex(12)}"
            connection.register(hidden, item.data)
            if item.schema not in schemas:
                connection.execute(f"CREATE SCHEMA {ident(item.schema)}")
                schemas.add(item.schema)
            connection.execute(
                f"CREATE VIEW {ident(item.schema)}.{ident(item.name)} AS "
                f"SELECT * FROM {ident(hidden)}"
            )

    @staticmethod
    def _run_one(connection: duckdb.DuckDBPyConnection, sql: str, limits: Limits) -> pa.Table:
        watched = _WATCHDOG.watch(limits.seconds, connection.interrupt)
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
            _WATCHDOG.cancel(watched)


class _Watchdog:
    """One thread that interrupts queries past their time: starting a timer thread per query
    costs a context switch or two, milliseconds on a busy machine."""

    def __init__(self) -> None:
        self._due: list[tuple[float, int, Callable[[], None]]] = []
        self._cancelled: set[int] = set()
        self._condition = threading.Condition()
        self._counter = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, seconds: float, action: Callable[[], None]) -> int:
        token = next(self._counter)
        due = time.monotonic() + seconds
        with self._condition:
            # Wake the watchdog only if this deadline comes first (usually one is earlier).
            earliest = not self._due or due < self._due[0][0]
            heapq.heappush(self._due, (due, token, action))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, daemon=True, name="accord-query-watchdog"
                )
                self._thread.start()
            elif earliest:
                self._condition.notify()
        return token

    def cancel(self, token: int) -> None:
        with self._condition:
            self._cancelled.add(token)

    def _run(self) -> None:
        with self._condition:
            while True:
                while self._due and self._due[0][1] in self._cancelled:
                    self._cancelled.discard(heapq.heappop(self._due)[1])
                if len(self._cancelled) > 4096:  # finished queries far from their deadlines
                    self._due = [d for d in self._due if d[1] not in self._cancelled]
                    heapq.heapify(self._due)
                    self._cancelled.clear()
                if not self._due:
                    self._condition.wait()
                    continue
                due, _token, action = self._due[0]
                wait = due - time.monotonic()
                if wait > 0:
                    self._condition.wait(wait)
                    continue
                heapq.heappop(self._due)
                # The query may have ended (and its connection closed) meanwhile.
                with contextlib.suppress(duckdb.Error):
                    action()


_WATCHDOG = _Watchdog()

"""Lock 2: the engine connection holds only what was registered and cannot reach out."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from accord.core.engine import DuckDBSandbox, Limits, TableInput
from accord.core.engine.database import SandboxTable, build_database
from accord.core.engine.sandbox import QueryFailed, QueryTimedOut

DATA = [TableInput("camden", "pupils", pa.table({"upn": ["P1", "P2"], "fsm": [True, False]}))]


def _run(sql: str, limits: Limits | None = None) -> pa.Table:
    return DuckDBSandbox().run(DATA, [sql], limits or Limits())[0]


def test_the_view_answers_from_registered_data() -> None:
    assert _run("SELECT count(*) AS n FROM camden.pupils WHERE fsm").to_pylist() == [{"n": 1}]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_csv('/etc/passwd')",
        "COPY (SELECT 1) TO '/tmp/accord-sandbox-escape.csv'",
        "ATTACH '/tmp/accord-sandbox-escape.db'",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SET enable_external_access = true",
        "SET threads = 64",
    ],
)
def test_even_unchecked_sql_cannot_reach_files_or_change_settings(sql: str) -> None:
    # lock 1 refuses these; lock 2 must hold on its own
    with pytest.raises(QueryFailed):
        _run(sql)


def test_a_long_query_is_interrupted() -> None:
    big = [TableInput("t", "r", pa.table({"a": list(range(300_000))}))]
    with pytest.raises(QueryTimedOut):
        DuckDBSandbox().run(
            big,
            ["SELECT count(*) FROM t.r x, t.r y WHERE x.a + y.a = -1"],
            Limits(seconds=0.3),
        )


def _database(tmp_path: Path) -> Path:
    table = SandboxTable(
        "camden",
        "pupils",
        pa.table({"upn": ["P1", "P2"], "fsm": [True, False], "__row": [0, 1]}),
        pa.table({"record_key": ["P1", "P2"]}),
        "__row",
        {"offset": 0, "unique": True},
    )
    return build_database(tmp_path / "db", [table]).path


def test_a_sandbox_database_answers_and_cannot_be_changed_or_left(tmp_path: Path) -> None:
    path = _database(tmp_path)
    sandbox = DuckDBSandbox()
    [answer] = sandbox.run_database(path, ["SELECT count(*) AS n FROM camden.pupils"], Limits())
    assert answer.to_pylist() == [{"n": 2}]
    for sql in (
        "CREATE TABLE camden.more AS SELECT 1 AS a",
        "DELETE FROM camden.pupils",
        "SELECT * FROM read_csv('/etc/passwd')",
        "ATTACH '/tmp/accord-sandbox-escape.db'",
        "SET enable_external_access = true",
        "SET memory_limit = '64GB'",
    ):
        with pytest.raises(QueryFailed):
            sandbox.run_database(path, [sql], Limits())


def test_what_one_question_creates_is_not_seen_by_the_next(tmp_path: Path) -> None:
    path = _database(tmp_path)
    sandbox = DuckDBSandbox()
    sandbox.run_database(
        path,
        [
            "CREATE TEMP TABLE kept AS SELECT 42 AS a",
            "CREATE TEMP MACRO leak() AS 42",
            "SELECT * FROM kept",
        ],
        Limits(),
    )
    for sql in ("SELECT * FROM kept", "SELECT leak()"):
        with pytest.raises(QueryFailed):
            sandbox.run_database(path, [sql], Limits())


def test_the_identities_of_a_sandbox_database_are_not_in_it(tmp_path: Path) -> None:
    path = _database(tmp_path)
    [tables] = DuckDBSandbox().run_database(
        path, ["SELECT table_name, column_name FROM duckdb_columns() WHERE NOT internal"], Limits()
    )
    columns = tables.column("column_name").to_pylist()
    assert set(tables.column("table_name").to_pylist()) == {"pupils"}
    assert sorted(c for c in columns if not c.startswith("__accord_row_")) == ["fsm", "upn"]
    assert len(columns) == 3  # and the hidden row number


def test_new_limits_for_an_open_sandbox_database_apply(tmp_path: Path) -> None:
    path = _database(tmp_path)
    sandbox = DuckDBSandbox()
    sandbox.run_database(path, ["SELECT 1"], Limits())
    [setting] = sandbox.run_database(
        path, ["SELECT current_setting('memory_limit') AS m"], Limits(memory="1GB")
    )
    assert setting.column("m").to_pylist()[0].startswith(("953", "1.0", "1000"))

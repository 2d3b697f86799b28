"""Lock 2: the engine connection holds only what was registered and cannot reach out."""

from __future__ import annotations

import pyarrow as pa
import pytest

from accord.core.engine import DuckDBSandbox, Limits, TableInput
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

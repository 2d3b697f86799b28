"""Small helpers for writing DuckDB SQL safely from contract values."""

from __future__ import annotations

from typing import Any


def ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def lit(value: Any) -> str:
    """A SQL string literal (every contract value is passed as text and cast in SQL)."""
    return "'" + str(value).replace("'", "''") + "'"


def lit_list(values: list[Any]) -> str:
    return ", ".join(lit(v) for v in values)

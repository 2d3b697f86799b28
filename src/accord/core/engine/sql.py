"""Quoting for SQL written from names and values Accord does not choose itself: contract field
names, dataset and member names, file paths.

DuckDB's rules (the SQL standard's): an identifier goes in double quotes and a string in single
quotes, each quote inside doubled. Values a user gives are passed as parameters instead; these
are for the places SQL has no parameter (identifiers, ``read_parquet`` paths, DDL).

Examples:
    >>> ident('say "hi"!')
    '"say ""hi""!"'
    >>> lit("O'Brien")
    "'O''Brien'"
    >>> lit_list(["a", 1])
    "'a', '1'"
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def lit(value: Any) -> str:
    """A SQL string literal of ``str(value)`` (a path, a name, a contract value cast in SQL)."""
    return "'" + str(value).replace("'", "''") + "'"


def lit_list(values: Iterable[Any]) -> str:
    """String literals separated by commas, e.g. for ``IN (...)`` or a list of files."""
    return ", ".join(lit(v) for v in values)


__all__ = ["ident", "lit", "lit_list"]

"""What the query service needs from an engine, so Spark can stand in for DuckDB later."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pyarrow as pa


@dataclass(frozen=True)
class Limits:
    """Resource limits of one query, so that one caller cannot starve the trust."""

    memory: str = "2GB"
    threads: int = 2
    seconds: float = 60.0


@dataclass(frozen=True)
class TableInput:
    """One table the engine exposes as ``schema.name``: data already cut down to what is granted."""

    schema: str  # the member
    name: str  # the dataset
    data: pa.Table


class Engine(Protocol):
    """Runs SQL (already checked) over the given inputs and nothing else."""

    def run(self, inputs: list[TableInput], sql: list[str], limits: Limits) -> list[pa.Table]:
        """Run each statement of ``sql`` over ``inputs``; one Arrow table per statement."""
        ...

    def run_database(self, database: Path, sql: list[str], limits: Limits) -> list[pa.Table]:
        """Run each statement of ``sql`` read-only on a sandbox database file (see
        :mod:`accord.core.engine.database`); one Arrow table per statement."""
        ...

"""Engines that run checked queries: DuckDB in a locked sandbox by default, Spark later."""

from accord.core.engine.base import Engine, Limits, TableInput
from accord.core.engine.sandbox import DuckDBSandbox

__all__ = ["DuckDBSandbox", "Engine", "Limits", "TableInput"]

"""Where a trust lives and how it is configured.

A trust's home folder holds everything it writes: the metadata database (SQLite by default),
keys, and the Parquet files of dataset versions. ``ACCORD_HOME`` and ``ACCORD_DATABASE_URL``
override the defaults so the same code runs embedded or against PostgreSQL.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_HOME = "accord-home"


def default_home() -> Path:
    return Path(os.environ.get("ACCORD_HOME") or DEFAULT_HOME)


@dataclass(frozen=True)
class Settings:
    """Settings of one trust installation."""

    home: Path
    database_url: str
    # A PostgreSQL schema to keep this trust's tables in (lets several trusts share a database).
    database_schema: str | None = None
    max_retention_days: int = 3650
    min_cell_size: int = 10
    checkpoint_every: int = 1000

    @classmethod
    def for_home(
        cls,
        home: Path | str | None = None,
        database_url: str | None = None,
        database_schema: str | None = None,
    ) -> Settings:
        home_path = Path(home) if home is not None else default_home()
        home_path = home_path.expanduser().resolve()
        url = database_url or os.environ.get("ACCORD_DATABASE_URL")
        if not url:
            url = f"sqlite:///{home_path / 'accord.db'}"
        schema = database_schema or os.environ.get("ACCORD_DATABASE_SCHEMA") or None
        return cls(home=home_path, database_url=url, database_schema=schema)

    @property
    def keys_dir(self) -> Path:
        return self.home / "keys"

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

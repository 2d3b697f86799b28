"""The sandbox database of one grant: granted columns and in-scope rows, in DuckDB's own format.

A question's sandbox (lock 2) opens this file read-only, with external access off and its
configuration locked, on a connection of its own. What the file holds was cut down on the
trust's side (:mod:`accord.core.engine.prepare`): only the granted columns of the datasets a
question may read, only in-scope rows with opted-out people removed, and the hidden row number
(under a random name kept beside the file). Nothing else is in it — no record keys, no person
keys of the trust, no other dataset — so whatever the question does, it can reach nothing else.

DuckDB scans its own compressed tables (dictionary, FSST) about twice as fast as Arrow data
registered on a connection, and a file is written once per grant, dataset version and opt-out
register rather than handed over per question.

Beside the database, on the trust's side only, ``identities.parquet`` per dataset holds what
each row number stands for (record key, trust-wide person key, their hashes, in row order):
the database and its identities are written together into a new folder that is then renamed
into place, so a reader never pairs a database with the identities of another build.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from accord.core.engine.sql import ident

DATABASE = "sandbox.duckdb"
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class SandboxTable:
    """One dataset of a sandbox database: ``schema.name``, its data and its identities."""

    schema: str  # the member
    name: str  # the dataset
    data: pa.Table  # granted columns and the hidden row number (named ``row_column``)
    identities: pa.Table  # trust side only: never written into the database
    row_column: str
    facts: dict[str, object]  # kept in the manifest (offset, whether record keys are unique)


@dataclass(frozen=True)
class SandboxDatabase:
    """A built sandbox database: the file a question opens, and its hidden row column."""

    folder: Path
    hidden: str  # the hidden row-number column of every table in it
    facts: dict[str, dict[str, object]]  # "schema.name" -> what the build recorded of it

    @property
    def path(self) -> Path:
        return self.folder / DATABASE

    def identities(self, schema: str, name: str) -> pa.Table:
        """The identities (row order) of one dataset of this database."""
        return pq.read_table(self.folder / f"{schema}.{name}.identities.parquet").combine_chunks()


def open_database(folder: Path) -> SandboxDatabase | None:
    """The complete sandbox database in ``folder``, or None if there is none."""
    manifest = folder / MANIFEST
    if not manifest.exists() or not (folder / DATABASE).exists():
        return None
    data = json.loads(manifest.read_text(encoding="utf-8"))
    return SandboxDatabase(folder, data["hidden"], data["tables"])


def build_database(
    folder: Path, tables: list[SandboxTable], *, threads: int = 2
) -> SandboxDatabase:
    """Write ``tables`` as a sandbox database in ``folder`` (all or nothing).

    If another process has built the same folder meanwhile, its database is kept and returned:
    each build pairs a database with its own identities, never with another build's.
    """
    hidden = f"__accord_row_{secrets.token_hex(8)}"
    partial = folder.with_name(f"{folder.name}.{secrets.token_hex(6)}.partial")
    partial.mkdir(parents=True, mode=0o700)
    try:
        connection = duckdb.connect(str(partial / DATABASE), config={"threads": threads})
        try:
            for index, table in enumerate(tables):
                data = table.data.rename_columns(
                    [hidden if c == table.row_column else c for c in table.data.column_names]
                )
                source = f"__accord_build_{index}"
                connection.register(source, data)
                schema, name = ident(table.schema), ident(table.name)
                connection.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
                connection.execute(f"CREATE TABLE {schema}.{name} AS SELECT * FROM {source}")
                connection.unregister(source)
                pq.write_table(
                    table.identities,
                    partial / f"{table.schema}.{table.name}.identities.parquet",
                    compression="zstd",
                    compression_level=1,
                )
            connection.execute("CHECKPOINT")
        finally:
            connection.close()
        facts = {f"{t.schema}.{t.name}": t.facts for t in tables}
        (partial / MANIFEST).write_text(
            json.dumps({"hidden": hidden, "tables": facts}), encoding="utf-8"
        )
        os.chmod(partial / DATABASE, 0o400)
        try:
            partial.rename(folder)
        except OSError:  # built by another process meanwhile: use that one
            shutil.rmtree(partial, ignore_errors=True)
            found = open_database(folder)
            if found is None:
                raise
            return found
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return SandboxDatabase(folder, hidden, facts)


__all__ = ["SandboxDatabase", "SandboxTable", "build_database", "open_database"]

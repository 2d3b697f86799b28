"""The sandbox databases of the query path: which one a question runs on, built once, kept.

A question under a grant runs on the sandbox database of the datasets it reads
(:mod:`accord.core.engine.database`): their granted columns and in-scope rows, opted-out people
removed. It is identified by everything that decides its content — each dataset's version and
file, the granted columns, the row scope, the linkage keys file, the recipient's pseudonym key
and the state of the opt-out register — so a new version, linkage run or opt-out makes a new
one, and a process that restarts opens the same file instead of preparing the data again.
What each row number stands for (record key, trust-wide person key) is read back from beside
the database and kept in memory here, on the trust's side.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from accord.core.engine import Engine
from accord.core.engine.database import (
    DATABASE,
    SandboxDatabase,
    SandboxTable,
    build_database,
    open_database,
)
from accord.core.engine.prepare import Preparation, Prepared, prepare
from accord.policy.refusal import QueryRefused
from accord.query.contributors import Source

if TYPE_CHECKING:
    from accord.query.optout import OptOuts
    from accord.trust import Trust

IDLE_SECONDS = 24 * 3600  # a sandbox database unused this long is removed
ROW = "__accord_row"  # the hidden row number of a prepared view, renamed in each database


@dataclass
class Kept:
    """A sandbox database kept for later questions, and what its row numbers stand for."""

    database: SandboxDatabase
    sources: list[Source]
    used: float = field(default_factory=time.time)

    @property
    def nbytes(self) -> int:
        return sum(s.prepared.identities.nbytes for s in self.sources)


class Sandboxes:
    """The sandbox databases under ``data/sandbox`` (``trust.queries.sandboxes``)."""

    def __init__(
        self,
        trust: Trust,
        engine: Engine,
        optouts: OptOuts,
        needed: Callable[[], set[Path]],
    ) -> None:
        self.trust = trust
        self.engine = engine
        self.optouts = optouts
        self.needed = needed  # databases that releases still to be listed need
        self.folder = trust.settings.data_dir / "sandbox"
        self.cache_bytes = 2 * 1024**3
        self.cache: OrderedDict[tuple[Any, ...], Kept] = OrderedDict()

    def open(
        self, wanted: list[tuple[str, int, Preparation]], threads: int
    ) -> tuple[list[Source], SandboxDatabase]:
        """The sandbox database of ``wanted`` (ref, version, preparation), and what each of
        its row numbers stands for; built once and kept (on disk and in memory)."""
        key = tuple(
            (
                p.dataset,
                version,
                str(p.path),
                p.columns,
                p.row_scope,
                p.offset,
                str(p.keys_path),
                _mtime(p.keys_path),
                p.pseudonym_key,
                self.optouts.revision() if p.opt_out else None,
            )
            for _ref, version, p in wanted
        )
        found = self.cache.get(key)
        if found is not None:
            self.cache.move_to_end(key)
            if time.time() - found.used > 60:  # seen as in use by other processes' pruning
                os.utime(found.database.folder)
                found.used = time.time()
            return found.sources, found.database
        kept = self._build(key, wanted, threads)
        self.cache[key] = kept
        while sum(v.nbytes for v in self.cache.values()) > self.cache_bytes and len(self.cache) > 1:
            self.cache.popitem(last=False)
        return kept.sources, kept.database

    def source(self, database: SandboxDatabase, ref: str, version: int) -> Source:
        """What the row numbers of one dataset of ``database`` stand for."""
        for kept in list(self.cache.values()):  # its identities are in memory already
            if kept.database.folder == database.folder:
                for source in kept.sources:
                    if source.ref == ref and source.version == version:
                        return source
        schema, name = ref.split("/", 1)
        facts = database.facts[f"{schema}.{name}"]
        identities = database.identities(schema, name)
        return Source(
            ref,
            version,
            Prepared(
                data=identities.slice(0, 0),
                identities=identities,
                unique_records=bool(facts["unique"]),
                offset=int(facts["offset"]),  # type: ignore[call-overload]
            ),
        )

    def _build(
        self, key: tuple[Any, ...], wanted: list[tuple[str, int, Preparation]], threads: int
    ) -> Kept:
        """Open the sandbox database for ``key`` if one was built before (by this process or
        another), else prepare each dataset and build it."""
        digest = hashlib.sha256(repr(key).encode()).hexdigest()[:40]
        folder = self.folder / digest
        database = open_database(folder)
        if database is not None:
            os.utime(folder)  # in use again: not to be pruned
        else:
            tables = []
            for ref, version, p in wanted:
                try:
                    prepared = prepare(
                        replace(p, path=self._version_path(ref, version)), threads=threads
                    )
                except duckdb.Error as exc:
                    raise QueryRefused(
                        f"the data of {ref} could not be prepared: {str(exc).splitlines()[0]}",
                        lock="during",
                    ) from exc
                schema, name = ref.split("/", 1)
                tables.append(
                    SandboxTable(
                        schema,
                        name,
                        prepared.data,
                        prepared.identities,
                        ROW,
                        {"offset": prepared.offset, "unique": prepared.unique_records},
                    )
                )
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            database = build_database(folder, tables, threads=threads)
            self.prune()
        return Kept(database, [self.source(database, ref, version) for ref, version, _ in wanted])

    def prune(self) -> None:
        """Remove sandbox databases not used for a day (a new version or opt-out makes a new
        one), except those this process keeps and those a pending release still needs."""
        keep = {kept.database.folder for kept in self.cache.values()} | self.needed()
        cutoff = time.time() - IDLE_SECONDS
        for path in self.folder.iterdir():
            if path in keep or not path.is_dir() or path.stat().st_mtime > cutoff:
                continue
            if hasattr(self.engine, "forget"):
                self.engine.forget(path / DATABASE)
            shutil.rmtree(path, ignore_errors=True)

    def _version_path(self, ref: str, number: int) -> Path:
        try:
            return Path(self.trust.ingest.version_path(ref, number))
        except ModuleNotFoundError:  # pragma: no cover - ingest not in this build
            path = Path(self.trust.catalogue.version(ref, number).path)
            return path if path.is_absolute() else self.trust.home / path


def _mtime(path: Path | None) -> int | None:
    return path.stat().st_mtime_ns if path is not None and path.exists() else None


def needed_by(markers: list[Path], home: Path) -> set[Path]:
    """The sandbox databases named by pending markers (``database``, relative to ``home``)."""
    found = set()
    for marker in markers:
        try:
            found.add(home / json.loads(marker.read_text(encoding="utf-8"))["database"])
        except (OSError, ValueError, KeyError):
            continue
    return found


__all__ = ["IDLE_SECONDS", "ROW", "Kept", "Sandboxes", "needed_by"]

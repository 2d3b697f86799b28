"""Which releases touched these records or these people: one index over every release.

The trust answers "which releases used this person's data" from two sides — the citizen view
by the person's records (dataset and record key), the query service by trust-wide person keys —
and both read this one index. It holds, per release, the sorted distinct 64-bit hashes of its
contributors: ``hash(dataset \\x1f record_key)`` for each record and ``hash('p' \\x1f person_key)``
for each person key (DuckDB's ``hash``). Releases are indexed when a search first meets them,
from the contributors Parquet the query service writes (pending releases are listed first, so
nobody is told less than a release used).

The index is a few segment files under ``data/releases/index``, each the concatenated sorted
hashes of many releases (one file to map instead of one per release). New releases make a new
segment; four segments of one size class are merged into one of the next, so there are never
more than a few dozen and each hash is rewritten only a few times. A hash that matches only
points at a candidate: every candidate is confirmed on its contributors Parquet, so a 64-bit
collision can never add a release.
"""

from __future__ import annotations

import fcntl
import json
import secrets
import shutil
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from accord.core.engine.sql import lit

MANIFEST = "segments.json"
MERGE_FAN_IN = 4  # segments of one size class merged together
SEPARATOR = "\x1f"
PERSON = "p"  # the "dataset" of person-key entries


class ReleaseIndex:
    """The release index under one folder (``trust.queries.index``).

    Examples:
        >>> index = ReleaseIndex(trust.settings.data_dir / "releases" / "index")  # doctest: +SKIP
        >>> index.touching([("rel-1", path)], records=[("camden/census", "P00017")])
        ... # doctest: +SKIP
        {'rel-1': {'camden/census'}}
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._cache: dict[str, np.ndarray] = {}
        self._manifest: list[dict[str, Any]] = []
        self._indexed: set[str] = set()
        self._connection: duckdb.DuckDBPyConnection | None = None
        self._lock = threading.Lock()

    def _duckdb(self) -> duckdb.DuckDBPyConnection:
        """A cursor on one in-memory DuckDB kept by the index (opening one costs ~10 ms)."""
        with self._lock:
            if self._connection is None:
                self._connection = duckdb.connect(":memory:", config={"threads": 2})
            return self._connection.cursor()

    # -- building --------------------------------------------------------------------------

    def refresh(self, releases: Sequence[tuple[str, Path]]) -> int:
        """Index every release of ``releases`` (id, contributors Parquet) not indexed yet;
        returns how many were added."""
        if all(release_id in self._indexed for release_id, _ in releases):
            return 0  # the common case: nothing new, no lock taken
        folder = self._folder()
        with _locked(folder / "lock"):
            manifest = _read_manifest(folder)
            done = {r for segment in manifest for r, _, _ in segment["releases"]}
            pending = [(r, p) for r, p in releases if r not in done and p.exists()]
            if pending:
                manifest.append(self._write_segment(folder, pending))
                manifest = _merge_segments(folder, manifest)
                _write_manifest(folder, manifest)
            self._manifest = manifest
            self._indexed = {r for segment in manifest for r, _, _ in segment["releases"]}
            listed = {segment["file"] for segment in manifest}
            self._cache = {f: a for f, a in self._cache.items() if f in listed}
        return len(pending)

    def _write_segment(self, folder: Path, pending: list[tuple[str, Path]]) -> dict[str, Any]:
        parts, releases, start = [], [], 0
        with self._duckdb() as connection:
            for release_id, source in pending:
                hashes = connection.sql(
                    "SELECT DISTINCT h FROM ("
                    "SELECT hash(CAST(dataset AS VARCHAR) || chr(31) || record_key) AS h "
                    f"FROM read_parquet({lit(str(source))}) UNION ALL "
                    f"SELECT hash('{PERSON}' || chr(31) || person_key) FROM "
                    f"read_parquet({lit(str(source))}) WHERE person_key IS NOT NULL"
                    ") ORDER BY h"
                ).fetchnumpy()["h"]
                parts.append(np.asarray(hashes, dtype=np.uint64))
                releases.append([release_id, start, start + len(hashes)])
                start += len(hashes)
        return _save_segment(folder, parts, releases)

    def _folder(self) -> Path:
        # DuckDB's hash() may change between versions: rebuild the index when it does.
        folder = self.folder
        stamp = folder / "duckdb-version"
        if folder.is_dir() and (not stamp.exists() or stamp.read_text() != duckdb.__version__):
            shutil.rmtree(folder)
            self._cache.clear()
            self._indexed = set()
        if not folder.is_dir():
            folder.mkdir(parents=True, mode=0o700)
            stamp.write_text(duckdb.__version__)
        return folder

    # -- searching -------------------------------------------------------------------------

    def touching(
        self,
        releases: Sequence[tuple[str, Path]],
        *,
        records: Iterable[tuple[str, str]] = (),
        person_keys: Iterable[str] = (),
    ) -> dict[str, set[str]]:
        """Release id -> the datasets of ``records`` it used (``"p"`` for a person key), for
        each of ``releases`` (id, contributors Parquet) whose contributors hold any of
        ``records`` (dataset, record_key) or ``person_keys``. Exact."""
        wanted = sorted(set(records) | {(PERSON, k) for k in person_keys if k})
        if not wanted:
            return {}
        self.refresh(releases)
        with self._duckdb() as connection:
            strings = pa.table({"s": [f"{d}{SEPARATOR}{k}" for d, k in wanted]})
            hashed = dict(fetch_with(connection, strings, "SELECT s, hash(s) FROM {table}"))
        pairs = sorted((hashed[f"{d}{SEPARATOR}{k}"], d, k) for d, k in wanted)
        values = np.array([h for h, _, _ in pairs], dtype=np.uint64)
        candidates: dict[str, list[tuple[str, str]]] = {}
        for segment in self._manifest:
            hashes = self._cache.get(segment["file"])
            if hashes is None:
                hashes = np.load(self.folder / segment["file"], mmap_mode="r")
                self._cache[segment["file"]] = hashes
            for release_id, start, end in segment["releases"]:
                if end == start:
                    continue
                part = hashes[start:end]
                at = np.searchsorted(part, values)
                hit = part[np.minimum(at, end - start - 1)] == values
                if hit.any():
                    found = candidates.setdefault(release_id, [])
                    found.extend((pairs[i][1], pairs[i][2]) for i in np.flatnonzero(hit))
        paths = dict(releases)
        return {
            release_id: confirmed
            for release_id, hits in candidates.items()
            if release_id in paths and (confirmed := self._confirm(paths[release_id], hits))
        }

    def _confirm(self, parquet: Path, hits: list[tuple[str, str]]) -> set[str]:
        """The datasets of ``hits`` really among a release's contributors (no hash collision).
        Reads only the row groups whose statistics may hold the keys."""
        records = {(d, k) for d, k in hits if d != PERSON}
        keys = sorted({k for d, k in hits if d == PERSON})
        found: set[str] = set()
        if records:
            table = pq.read_table(
                parquet,
                columns=["dataset", "record_key"],
                filters=[("record_key", "in", sorted({k for _, k in records}))],
            )
            pairs = zip(
                table.column("dataset").cast(pa.string()).to_pylist(),
                table.column("record_key").to_pylist(),
                strict=True,
            )
            found.update(d for d, k in pairs if (d, k) in records)
        if keys:
            table = pq.read_table(
                parquet, columns=["person_key"], filters=[("person_key", "in", keys)]
            )
            if table.num_rows:
                found.add(PERSON)
        return found


def fetch_with(connection: duckdb.DuckDBPyConnection, table: pa.Table, sql: str) -> list[Any]:
    """Run ``sql`` with ``table`` registered as ``{table}`` under a name of its own (cursors of
    one connection share names); the citizen's view uses it too."""
    name = f"__arrow_{secrets.token_hex(6)}"
    connection.register(name, table)
    try:
        return connection.sql(sql.replace("{table}", name)).fetchall()
    finally:
        connection.unregister(name)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One process at a time changes the index (a web server and a CLI may share a home)."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _read_manifest(folder: Path) -> list[dict[str, Any]]:
    path = folder / MANIFEST
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else []


def _write_manifest(folder: Path, manifest: list[dict[str, Any]]) -> None:
    partial = folder / (MANIFEST + ".tmp")
    partial.write_text(json.dumps(manifest), encoding="utf-8")
    partial.replace(folder / MANIFEST)  # readers see the old manifest or the new, never half
    listed = {segment["file"] for segment in manifest}
    for stale in folder.glob("seg-*.npy"):
        if stale.name not in listed:
            stale.unlink(missing_ok=True)  # merged away (a reader's open mapping stays valid)


def _save_segment(
    folder: Path, parts: list[np.ndarray], releases: list[list[Any]]
) -> dict[str, Any]:
    name = f"seg-{secrets.token_hex(8)}.npy"
    data = np.concatenate(parts) if parts else np.empty(0, np.uint64)
    np.save(folder / name, np.ascontiguousarray(data, dtype=np.uint64))
    return {"file": name, "rows": int(data.size), "releases": releases}


def _size_class(rows: int) -> int:
    return int(np.log(max(rows, 1)) / np.log(MERGE_FAN_IN))


def _merge_segments(folder: Path, manifest: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Merge MERGE_FAN_IN segments of one size class into one, until no class is that full."""
    while True:
        classes: dict[int, list[dict[str, Any]]] = {}
        for segment in manifest:
            classes.setdefault(_size_class(segment["rows"]), []).append(segment)
        full = next((group for group in classes.values() if len(group) >= MERGE_FAN_IN), None)
        if full is None:
            return manifest
        group = full[:MERGE_FAN_IN]
        parts, releases, start = [], [], 0
        for segment in group:
            data = np.load(folder / segment["file"], mmap_mode="r")
            parts.append(data)
            for release_id, a, b in segment["releases"]:
                releases.append([release_id, start + a, start + b])
            start += data.size
        merged = _save_segment(folder, parts, releases)
        manifest = [s for s in manifest if s not in group] + [merged]


__all__ = ["MERGE_FAN_IN", "PERSON", "ReleaseIndex", "fetch_with"]

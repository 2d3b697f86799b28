"""Releases whose contributors are still to be listed, and listing them.

An aggregate over one dataset (see :mod:`accord.policy.instrument`) leaves before its
contributors are written: the release records, at once and in the same unit of work, everything
that fixes who they are — the pinned sandbox database it ran on (one dataset version, the row
scope, the opt-out register as it was, row for row), the lineage query, and each cell's group
key and row count — in ``data/releases/ID.pending.json``. Listing them afterwards is running
that query again on that database and writing what it finds (the contributors Parquet and the
cells' differencing signatures); the counts must match the answer's, or nothing is written and
the marker stays.

The marker is removed only once everything is written, so a release whose listing was cut short
(the process stopped, the disk was full) is listed again: in the background when the query
service next starts, and in any case by the next reader that needs it — the citizen's look-up,
an export of contributors, a differencing check. Each of those first calls
:meth:`PendingReleases.complete`, so nobody is ever told less than the release used.
"""

from __future__ import annotations

import fcntl
import json
import queue
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

SUFFIX = ".pending.json"


class PendingReleases:
    """The markers under one folder, and the function that lists one release's contributors.

    Examples:
        >>> trust.queries.pending.complete()  # doctest: +SKIP
        0
    """

    def __init__(self, folder: Path, materialise: Callable[[dict[str, Any]], bool]) -> None:
        self.folder = folder
        self._materialise = materialise
        self._queue: queue.Queue[str] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._lock = threading.Lock()
        self.errors: list[BaseException] = []  # of background listings (the markers stay)

    def path(self, release_id: str) -> Path:
        return self.folder / f"{release_id}{SUFFIX}"

    def positions_path(self, release_id: str) -> Path:
        return self.folder / f"{release_id}.positions.npz"

    def write(
        self, spec: dict[str, Any], arrays: dict[str, np.ndarray] | None = None
    ) -> list[Path]:
        """Record what fixes a release's contributors (before the release itself is recorded):
        the marker, and ``arrays`` (row positions already known) beside it."""
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        written = []
        if arrays is not None:
            positions = self.positions_path(spec["release_id"])
            np.savez(positions, **arrays)
            written.append(positions)
        target = self.path(spec["release_id"])
        partial = target.with_name(target.name + ".tmp")
        partial.write_text(json.dumps(spec), encoding="utf-8")
        partial.replace(target)
        return [*written, target]

    def ids(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(p.name.removesuffix(SUFFIX) for p in self.folder.glob(f"*{SUFFIX}"))

    def start(self, release_id: str) -> None:
        """List one release's contributors in the background (the answer does not wait). One
        worker thread lists them in turn: starting a thread per answer costs milliseconds on a
        busy machine."""
        with self._lock:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(
                    target=self._work, daemon=True, name="accord-contributors"
                )
                self._worker.start()
        self._queue.put(release_id)

    def _work(self) -> None:
        while True:
            release_id = self._queue.get()
            try:
                self.complete([release_id])
            except BaseException as exc:  # the marker stays; the next reader lists it again
                self.errors.append(exc)
            finally:
                self._queue.task_done()

    def settle(self) -> None:
        """Wait for the background listings started by this process."""
        self._queue.join()

    def complete(self, release_ids: Iterable[str] | None = None) -> int:
        """List the contributors of every pending release (or of these); returns how many were
        listed here. One process and one thread at a time per release (a lock on its marker)."""
        done = 0
        for release_id in self.ids() if release_ids is None else list(release_ids):
            marker = self.path(release_id)
            try:
                handle = marker.open("r", encoding="utf-8")
            except FileNotFoundError:
                continue  # listed already
            with handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                try:
                    if not marker.exists():
                        continue  # listed by another while this one waited
                    if not self._materialise(json.loads(handle.read())):
                        continue  # its release is still being recorded
                    marker.unlink()
                    self.positions_path(release_id).unlink(missing_ok=True)
                    done += 1
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)
        return done


__all__ = ["PendingReleases"]

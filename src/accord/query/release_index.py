"""Which releases touched these people: a small sorted index of person keys per release.

Each release gets ``data/releases/ID.persons.npy``: the sorted, distinct 64-bit md5 hashes of
the trust-wide person keys behind it (empty where nothing is linked), written with the release.
Finding the releases that touched a person is then a binary search on disk per release (a few
8-byte reads each; no Parquet is opened), followed by an exact check of the few that match,
on the person keys in their contributors Parquet — so a 64-bit hash collision can never add a
release. Releases made before this index existed are indexed the first time they are searched.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

SUFFIX = ".persons.npy"


def person_hash(person_key: str) -> int:
    """The 64-bit hash kept in the index: DuckDB's ``md5_number_lower`` of the key."""
    return int.from_bytes(hashlib.md5(person_key.encode()).digest()[8:16], "little")


class ReleaseIndex:
    """The per-release person indexes under one folder.

    Examples:
        >>> index = ReleaseIndex(trust.settings.data_dir / "releases")  # doctest: +SKIP
        >>> index.touching([("rel-1", path)], ["PK-000123"])  # doctest: +SKIP
        ['rel-1']
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, release_id: str) -> Path:
        return self.folder / f"{release_id}{SUFFIX}"

    def write(self, release_id: str, hashes: np.ndarray) -> Path:
        """Keep ``hashes`` (sorted, distinct uint64) for a release; all or nothing."""
        target = self.path(release_id)
        partial = target.with_name(target.name + ".tmp.npy")
        np.save(partial, np.ascontiguousarray(hashes, dtype=np.uint64))
        partial.replace(target)  # a search never sees half a file
        return target

    def touching(
        self, releases: Sequence[tuple[str, Path]], person_keys: Iterable[str]
    ) -> list[str]:
        """Ids of ``releases`` (id, contributors Parquet) whose contributors include any of
        ``person_keys``, in the order given."""
        keys = sorted({k for k in person_keys if k})
        if not keys:
            return []
        wanted = sorted({person_hash(k) for k in keys})
        found = []
        for release_id, parquet in releases:
            path = self.path(release_id)
            if not path.exists():
                if not parquet.exists():
                    continue
                self.write(release_id, _hashes_of(parquet))
            if _holds_any(path, wanted) and _holds(parquet, keys):
                found.append(release_id)
        return found


def _holds_any(path: Path, wanted: list[int]) -> bool:
    """Binary search of the sorted hashes on disk: a few 8-byte reads per wanted hash, so a
    search over a thousand releases opens a thousand files and reads next to nothing."""
    fd = os.open(path, os.O_RDONLY)
    try:
        start = _data_offset(fd)
        if start is None:  # not a file this index wrote: read it whole
            hashes = np.load(path)
            if hashes.size == 0:
                return False
            at = np.minimum(np.searchsorted(hashes, np.array(wanted, np.uint64)), hashes.size - 1)
            return bool(np.any(hashes[at] == np.array(wanted, np.uint64)))
        size = (os.fstat(fd).st_size - start) // 8
        for value in wanted:
            low, high = 0, size
            while low < high:
                middle = (low + high) // 2
                if _read(fd, start, middle) < value:
                    low = middle + 1
                else:
                    high = middle
            if low < size and _read(fd, start, low) == value:
                return True
        return False
    finally:
        os.close(fd)


def _read(fd: int, start: int, index: int) -> int:
    return int.from_bytes(os.pread(fd, 8, start + index * 8), "little")


def _data_offset(fd: int) -> int | None:
    """Where the values of a ``.npy`` file of little-endian uint64 start (None if it is not)."""
    head = os.pread(fd, 12, 0)
    if head[:6] != b"\x93NUMPY":
        return None
    wide = head[6] > 1  # format 2 and 3 have a 4-byte header length
    length = int.from_bytes(head[8:12] if wide else head[8:10], "little")
    offset = (12 if wide else 10) + length
    header = os.pread(fd, length, offset - length).decode("latin1")
    if "'descr': '<u8'" not in header or "'fortran_order': False" not in header:
        return None
    return offset


def _hashes_of(parquet: Path) -> np.ndarray:
    keys = pc.drop_null(pq.read_table(parquet, columns=["person_key"]).column("person_key"))
    distinct = pc.unique(keys).to_pylist()
    return np.unique(np.array([person_hash(k) for k in distinct], dtype=np.uint64))


def _holds(parquet: Path, keys: list[str]) -> bool:
    table = pq.read_table(parquet, columns=["person_key"], filters=[("person_key", "in", keys)])
    column = table.column("person_key")
    return bool(pc.any(pc.is_in(column, pa.array(keys))).as_py()) if len(column) else False


__all__ = ["ReleaseIndex", "person_hash"]

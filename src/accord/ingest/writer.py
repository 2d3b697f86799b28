"""Atomic versions on disk: write into a hidden folder, fsync, rename into place.

A version's files live in ``data/<member>/<dataset>/v000N/`` (``data.parquet`` and
``quarantine.parquet``). A version exists only once its row is committed to the metadata
database, and versions are always listed from the database, so a folder left behind by a killed
ingest is never visible; the next ingest of the dataset removes it. One ingest per dataset runs
at a time (a lock file), which is what makes that clean-up safe.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from accord.errors import AccordError

DATA_FILE = "data.parquet"
QUARANTINE_FILE = "quarantine.parquet"
STAGING_PREFIX = ".tmp-"


class IngestBusy(AccordError):
    code = "ingest-busy"
    status = 409


def dataset_dir(data_dir: Path, member: str, dataset: str) -> Path:
    return data_dir / member / dataset


def version_dirname(number: int) -> str:
    return f"v{number:04d}"


@contextmanager
def dataset_lock(folder: Path, *, wait: bool = True) -> Iterator[None]:
    """Hold the dataset's ingest lock (released by the OS if the process dies)."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    with (folder / ".lock").open("a") as handle:
        flags = fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB
        try:
            fcntl.flock(handle, flags)
        except BlockingIOError as exc:
            raise IngestBusy(
                f"Another ingest of {folder.name} is running; try again shortly"
            ) from exc
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def remove_orphans(folder: Path, committed: set[int]) -> list[Path]:
    """Delete staging folders and version folders no committed version owns (call under lock)."""
    removed = []
    for child in folder.iterdir() if folder.exists() else []:
        if not child.is_dir():
            continue
        orphan = child.name.startswith(STAGING_PREFIX) or (
            child.name.startswith("v")
            and child.name[1:].isdigit()
            and int(child.name[1:]) not in committed
        )
        if orphan:
            shutil.rmtree(child, ignore_errors=True)
            removed.append(child)
    return removed


def new_staging(folder: Path) -> Path:
    staging = folder / f"{STAGING_PREFIX}{uuid.uuid4().hex}"
    staging.mkdir(parents=True, mode=0o700)
    return staging


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def seal(staging: Path, keep: tuple[str, ...] = (DATA_FILE, QUARANTINE_FILE)) -> None:
    """Remove working files, make the kept ones read-only and durable."""
    for child in staging.iterdir():
        if child.name not in keep:
            if child.is_dir():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink()
    for name in keep:
        os.chmod(staging / name, 0o400)
        fsync_file(staging / name)
    fsync_dir(staging)


def publish(staging: Path, final: Path) -> None:
    """Rename the sealed staging folder to its version folder, durably."""
    if final.exists():  # an orphan of a killed ingest that reached the rename
        shutil.rmtree(final)
    os.rename(staging, final)
    fsync_dir(final.parent)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()

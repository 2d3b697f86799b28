"""Exporting the log for an outside auditor, and verifying such an export with no trust at hand.

An export is a folder::

    entries.jsonl      one entry per line, in chain order (the exact stored fields)
    checkpoints.jsonl  every signed checkpoint, smallest first
    trust.pub          the trust's public key (PEM); an auditor should compare it with a copy
                       obtained separately, or pass that copy with --public-key
    README.txt         how to check it

Examples:
    >>> trust.audit.export("audit-2026-11")  # doctest: +SKIP
    >>> verify_export("audit-2026-11", public_key="trust.pub").ok  # doctest: +SKIP
    True
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection

from accord.audit.checkpoints import Checkpoint
from accord.audit.reader import FIELDS, Row, db_entries, db_unchained
from accord.audit.verify import VerifyReport, verify_log
from accord.core.crypto.keys import load_public_key
from accord.errors import AlreadyExists, InvalidInput, NotFound

ENTRIES = "entries.jsonl"
CHECKPOINTS = "checkpoints.jsonl"
PUBLIC_KEY = "trust.pub"

README = """This folder is an export of an Accord trust's audit log.

entries.jsonl      every entry, one JSON object per line, in order
checkpoints.jsonl  checkpoints: the log's size and Merkle root, signed by the trust (Ed25519)
trust.pub          the trust's public key (compare it with one you obtained separately)

To check that no entry was altered, deleted, inserted or reordered:

    accord audit verify --export {folder} --public-key TRUST-KEY-YOU-TRUST.pub

The format and the checks are described in Accord's docs/audit.md.
"""


@dataclass(frozen=True)
class ExportSummary:
    folder: Path
    entries: int
    checkpoints: int
    unchained: int


def export_log(
    connection: Connection,
    checkpoints: Sequence[Checkpoint],
    public_key: Ed25519PublicKey,
    folder: Path | str,
) -> ExportSummary:
    """Write the log behind ``connection`` (a SQLAlchemy Connection) to ``folder``."""
    target = Path(folder)
    if (target / ENTRIES).exists():
        raise AlreadyExists(f"{target} already holds an audit export; choose an empty folder")
    target.mkdir(parents=True, exist_ok=True)
    count = 0
    with (target / ENTRIES).open("w", encoding="utf-8", newline="\n") as out:
        for row in db_entries(connection):
            out.write(json.dumps(dict(zip(FIELDS, row, strict=True)), ensure_ascii=False))
            out.write("\n")
            count += 1
    with (target / CHECKPOINTS).open("w", encoding="utf-8", newline="\n") as out:
        for c in checkpoints:
            out.write(json.dumps(c.as_dict()) + "\n")
    pem = public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (target / PUBLIC_KEY).write_bytes(pem)
    (target / "README.txt").write_text(README.format(folder=target), encoding="utf-8")
    unchained, _ = db_unchained(connection)
    return ExportSummary(target, count, len(checkpoints), unchained)


def read_entries(folder: Path | str) -> Iterator[Row]:
    """Entry tuples from an export, in file order; a line that cannot be read yields
    ``(None, line_number, reason)`` so verification can say where the damage is."""
    path = Path(folder) / ENTRIES
    loads = json.loads
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            try:
                d = loads(line)
                yield (
                    d["index"],
                    d.get("seq"),
                    d["occurred_at"],
                    d["actor"],
                    d["kind"],
                    d["member"],
                    d["agreement"],
                    d["payload"],
                    d["prev_hash"],
                    d["entry_hash"],
                )
            except (ValueError, KeyError, TypeError) as exc:
                yield (None, number, f"line {number} of {ENTRIES}: {exc}")


def read_checkpoints(folder: Path | str) -> list[Checkpoint]:
    path = Path(folder) / CHECKPOINTS
    if not path.exists():
        return []
    found = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            found.append(Checkpoint.from_dict(json.loads(line)))
        except (ValueError, InvalidInput) as exc:
            raise InvalidInput(f"Line {number} of {path} is not a checkpoint: {exc}") from exc
    return found


def verify_export(
    folder: Path | str,
    *,
    public_key: Path | str | None = None,
    anchors: Sequence[Checkpoint] = (),
) -> VerifyReport:
    """Verify an export with nothing but a public key.

    ``public_key`` is a PEM (or base64) file; without it the export's own ``trust.pub`` is
    used, which proves the log is consistent but not *whose* it is.
    """
    folder = Path(folder)
    if not (folder / ENTRIES).exists():
        raise NotFound(f"{folder} is not an audit export: it has no {ENTRIES}")
    notes: list[str] = []
    key_path = Path(public_key) if public_key else folder / PUBLIC_KEY
    if not key_path.exists():
        raise NotFound(f"No public key at {key_path}: pass the trust's key with --public-key")
    key = load_public_key(key_path)
    if public_key is None:
        notes.append(
            f"Checked with the export's own {PUBLIC_KEY}; to be sure whose log this is, pass "
            "a copy of the trust's public key obtained separately with --public-key."
        )
    elif (folder / PUBLIC_KEY).exists() and _raw(load_public_key(folder / PUBLIC_KEY)) != _raw(key):
        notes.append(f"The export's own {PUBLIC_KEY} is not the key you supplied.")
    report = verify_log(
        read_entries(folder),
        read_checkpoints(folder),
        key,
        source=str(folder),
        public_key_text=_text(key),
        anchors=anchors,
    )
    report.notes.extend(notes)
    return report


def _raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _text(key: Ed25519PublicKey) -> str:
    return base64.b64encode(_raw(key)).decode("ascii")

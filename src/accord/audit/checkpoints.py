"""Signed checkpoints: the trust's Ed25519 signature over the log's size, root and head.

A checkpoint says "on ``signed_at`` the log held ``tree_size`` entries, whose Merkle root is
``root_hash`` and whose newest entry hashes to ``head_hash``". Anyone with the trust's public
key can check it; keep a copy outside the trust (``accord audit checkpoint --out FILE``) and
any later rewriting of those entries, or their deletion, is detected.
"""

from __future__ import annotations

import base64
import json
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select

from accord.audit.entry import GENESIS, iso_utc
from accord.audit.merkle import Frontier
from accord.audit.models import CheckpointRow
from accord.core.crypto.canonical import canonical_json
from accord.core.crypto.keys import SigningKey, verify_signature
from accord.core.store.base import utcnow
from accord.errors import IntegrityError, InvalidInput

if TYPE_CHECKING:
    from accord.core.store.database import Store

FORMAT = "accord-audit-checkpoint/1"


@dataclass(frozen=True)
class Checkpoint:
    """One signed statement of the log's state."""

    tree_size: int
    root_hash: str
    head_hash: str
    signed_at: str
    signature: str

    def signed_bytes(self) -> bytes:
        """The exact bytes the trust signs."""
        return canonical_json(
            {
                "format": FORMAT,
                "tree_size": self.tree_size,
                "root_hash": self.root_hash,
                "head_hash": self.head_hash,
                "signed_at": self.signed_at,
            }
        )

    def is_signed_by(self, public_key: Ed25519PublicKey | str) -> bool:
        try:
            signature = base64.b64decode(self.signature, validate=True)
        except ValueError:
            return False
        return verify_signature(public_key, signature, self.signed_bytes())

    def describe(self) -> str:
        return f"the checkpoint of {self.tree_size} entries signed at {self.signed_at}"

    def as_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Checkpoint:
        try:
            return cls(
                tree_size=int(data["tree_size"]),
                root_hash=str(data["root_hash"]),
                head_hash=str(data["head_hash"]),
                signed_at=str(data["signed_at"]),
                signature=str(data["signature"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput(f"Not an Accord audit checkpoint: missing or bad {exc}") from exc

    @classmethod
    def from_row(cls, row: CheckpointRow) -> Checkpoint:
        return cls(
            row.tree_size, row.root_hash, row.head_hash, iso_utc(row.signed_at), row.signature
        )

    def write(self, path: Path) -> None:
        Path(path).write_text(json.dumps(self.as_dict(), indent=2) + "\n", encoding="utf-8")


def sign(key: SigningKey, tree_size: int, root: bytes, head_hash: str, at: datetime) -> Checkpoint:
    unsigned = Checkpoint(tree_size, root.hex(), head_hash, iso_utc(at), "")
    signature = base64.b64encode(key.sign(unsigned.signed_bytes())).decode("ascii")
    return Checkpoint(tree_size, root.hex(), head_hash, unsigned.signed_at, signature)


def read_checkpoint_file(path: Path) -> Checkpoint:
    """A checkpoint kept outside the trust (JSON, as ``accord audit checkpoint --out`` writes)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"Cannot read the checkpoint file {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise InvalidInput(f"{path} does not hold an Accord audit checkpoint")
    return Checkpoint.from_dict(data)


def load_checkpoints(store: Store) -> list[Checkpoint]:
    """Every stored checkpoint, oldest (smallest) first."""
    with store.sessions() as session:
        rows = session.scalars(
            select(CheckpointRow).order_by(CheckpointRow.tree_size, CheckpointRow.id)
        ).all()
        return [Checkpoint.from_row(r) for r in rows]


def sign_checkpoint(store: Store, key: SigningKey) -> Checkpoint:
    """Sign the log as it stands now and store the checkpoint.

    Starts from the newest checkpoint's frontier (once its signed root is confirmed), so only
    the entries since then are read. Those entries are checked first: the trust refuses to
    put its signature on a chain that is already broken.
    """
    from accord.audit.reader import db_entries
    from accord.audit.verify import check_chain

    public = key.public
    with store.sessions() as session, session.begin():
        latest = session.scalars(
            select(CheckpointRow).order_by(CheckpointRow.tree_size.desc(), CheckpointRow.id.desc())
        ).first()
        frontier, prev = Frontier(), GENESIS
        if latest is not None:
            resumed = _resume(latest, public)
            if resumed is not None:
                frontier, prev = resumed, latest.head_hash
        result = check_chain(
            db_entries(session.connection(), after=frontier.size),
            start_index=frontier.size + 1,
            prev_hash=prev,
            frontier=frontier,
        )
        if result.problem is not None:
            raise IntegrityError(
                "The audit log was not signed because it is damaged: "
                f"{result.problem.message} Run `accord audit verify` for the full report."
            )
        checkpoint = sign(key, result.entries, result.frontier.root(), result.head_hash, utcnow())
        session.add(
            CheckpointRow(
                tree_size=checkpoint.tree_size,
                root_hash=checkpoint.root_hash,
                head_hash=checkpoint.head_hash,
                signed_at=datetime.fromisoformat(checkpoint.signed_at),
                signature=checkpoint.signature,
                frontier=json.dumps(result.frontier.to_hex()),
            )
        )
    return checkpoint


def _resume(row: CheckpointRow, public: Ed25519PublicKey) -> Frontier | None:
    """The stored frontier of ``row`` if it really folds to the root the trust signed."""
    if not Checkpoint.from_row(row).is_signed_by(public):
        return None
    try:
        frontier = Frontier.from_hex(row.tree_size, json.loads(row.frontier))
    except (ValueError, TypeError):
        return None
    return frontier if frontier.root().hex() == row.root_hash else None

"""Proof documents a person can check on their own with the trust's public key.

An inclusion proof shows that one entry is in the log covered by a signed checkpoint; a
consistency proof shows a later checkpoint only adds entries to an earlier one. Both are
plain JSON (hex hashes) so they can be handed over, stored and checked elsewhere.
"""

from __future__ import annotations

import hashlib
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import BaseModel

from accord.audit.checkpoints import Checkpoint
from accord.audit.entry import Entry
from accord.audit.merkle import leaf_hash, verify_consistency, verify_inclusion


class InclusionProof(BaseModel):
    """Entry ``index`` is leaf ``index - 1`` of the tree of ``tree_size`` entries."""

    index: int
    tree_size: int
    entry: dict[str, Any]
    path: list[str]
    root_hash: str
    checkpoint: dict[str, Any] | None = None

    def problems(self, public_key: Ed25519PublicKey | None = None) -> list[str]:
        """What is wrong with this proof (empty when it holds)."""
        found: list[str] = []
        try:
            entry = Entry(**self.entry)
            path = [bytes.fromhex(h) for h in self.path]
            root = bytes.fromhex(self.root_hash)
        except (TypeError, ValueError) as exc:
            return [f"The proof is malformed: {exc}"]
        if entry.index != self.index:
            found.append(f"The proof is for entry {self.index} but carries entry {entry.index}.")
        digest = hashlib.sha256(entry.canonical_bytes()).digest()
        if digest.hex() != entry.entry_hash:
            found.append(f"Entry {self.index}'s contents do not match its hash.")
        if not verify_inclusion(self.index - 1, self.tree_size, leaf_hash(digest), path, root):
            found.append(
                f"The audit path does not lead from entry {self.index} to the root of the "
                f"log of {self.tree_size} entries."
            )
        if self.checkpoint is not None:
            checkpoint = Checkpoint.from_dict(self.checkpoint)
            if (checkpoint.tree_size, checkpoint.root_hash) != (self.tree_size, self.root_hash):
                found.append("The proof's root is not the one in its checkpoint.")
            if public_key is not None and not checkpoint.is_signed_by(public_key):
                found.append("The checkpoint's signature was not made by the trust's key.")
        elif public_key is not None:
            found.append("The proof carries no signed checkpoint to anchor its root.")
        return found


class ConsistencyProof(BaseModel):
    """The log of ``new_size`` entries begins with the log of ``old_size`` entries, unchanged."""

    old_size: int
    new_size: int
    old_root: str
    new_root: str
    path: list[str]
    old_checkpoint: dict[str, Any] | None = None
    new_checkpoint: dict[str, Any] | None = None

    def problems(self, public_key: Ed25519PublicKey | None = None) -> list[str]:
        try:
            path = [bytes.fromhex(h) for h in self.path]
            old_root, new_root = bytes.fromhex(self.old_root), bytes.fromhex(self.new_root)
        except ValueError as exc:
            return [f"The proof is malformed: {exc}"]
        found: list[str] = []
        if not verify_consistency(self.old_size, self.new_size, old_root, new_root, path):
            found.append(
                f"The log of {self.new_size} entries is not shown to extend the log of "
                f"{self.old_size} entries."
            )
        for label, data, size, root in (
            ("earlier", self.old_checkpoint, self.old_size, self.old_root),
            ("later", self.new_checkpoint, self.new_size, self.new_root),
        ):
            if data is None:
                continue
            checkpoint = Checkpoint.from_dict(data)
            if (checkpoint.tree_size, checkpoint.root_hash) != (size, root):
                found.append(f"The {label} checkpoint does not match the proof's root.")
            if public_key is not None and not checkpoint.is_signed_by(public_key):
                found.append(f"The {label} checkpoint's signature was not made by the trust.")
        return found

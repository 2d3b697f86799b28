"""``trust.audit``: verify, checkpoint, export, list and prove the audit log.

Examples:
    >>> report = trust.audit.verify()  # doctest: +SKIP
    >>> report.ok, report.first_bad  # doctest: +SKIP
    (True, None)
    >>> trust.audit.checkpoint().tree_size  # doctest: +SKIP
    42
    >>> trust.audit.prove_inclusion(7).problems(trust.signing_key.public)  # doctest: +SKIP
    []

Anyone may read, verify and ask for proofs; signing a checkpoint and exporting the log are for
the trust's administrators: those methods take the acting user (``actor``; the trust operator
when not given) and refuse anyone else, saying why (``accord.policy.roles``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field
from sqlalchemy import select

from accord.audit import chain
from accord.audit.checkpoints import Checkpoint, load_checkpoints, sign_checkpoint
from accord.audit.events import AuditExported
from accord.audit.export import CHECKPOINTS, ENTRIES, PUBLIC_KEY, ExportSummary, export_log
from accord.audit.merkle import consistency_proof, inclusion_path, leaf_hash, tree_root
from accord.audit.proofs import ConsistencyProof, InclusionProof
from accord.audit.reader import FIELDS, db_entries, db_entry_hashes, db_unchained
from accord.audit.verify import VerifyReport, verify_log
from accord.core.store.models import EventRow
from accord.errors import IntegrityError, InvalidInput, NotFound
from accord.policy.roles import administer_audit

if TYPE_CHECKING:
    from accord.catalogue.models import User
    from accord.core.store.database import Store
    from accord.trust import Trust


class LogFilter(BaseModel):
    """Which entries to list; every field narrows the list."""

    member: str | None = None
    agreement: str | None = None
    kind: str | None = None
    since: datetime | None = None
    limit: int = Field(default=50, ge=1, le=10_000)


class LogEntry(BaseModel):
    """One entry as a person reads it."""

    index: int | None
    seq: int
    occurred_at: datetime
    actor: str
    kind: str
    member: str | None
    agreement: str | None
    payload: dict[str, Any]
    entry_hash: str | None


class Audit:
    """The audit log of one trust (``trust.audit``)."""

    def __init__(self, trust: Trust) -> None:
        self.trust = trust

    @property
    def _store(self) -> Store:
        return self.trust.store

    # -- checking ----------------------------------------------------------------------------

    def verify(self, anchors: Sequence[Checkpoint] = ()) -> VerifyReport:
        """Check every entry, link and checkpoint signature; name the first bad entry.

        ``anchors`` are checkpoints kept outside the trust (``--from-checkpoint``).

        Examples:
            >>> trust.audit.verify().summary()  # doctest: +SKIP
            'The audit log in … is intact: 12 entries and 1 signed checkpoints checked …'
        """
        key = self.trust.signing_key
        checkpoints = load_checkpoints(self._store)
        with self._store.engine.connect() as connection, connection.begin():
            unchained = db_unchained(connection)
            return verify_log(
                db_entries(connection),
                checkpoints,
                key.public,
                source=f"the trust at {self.trust.home}",
                public_key_text=key.public_text(),
                anchors=anchors,
                unchained=unchained,
            )

    def checkpoint(self, *, actor: User | None = None) -> Checkpoint:
        """Sign the log as it stands now (also done automatically every N entries). For an
        admin (``actor``; the trust operator when not given).

        A checkpoint is a signed statement of the log, not a change to it, so it adds no entry.
        """
        administer_audit(self.trust.acting(actor), "sign an audit checkpoint")
        return self._sign()

    def _sign(self) -> Checkpoint:
        return sign_checkpoint(self._store, self.trust.signing_key)

    def checkpoints(self) -> list[Checkpoint]:
        return load_checkpoints(self._store)

    def export(self, folder: Path | str, *, actor: User | None = None) -> ExportSummary:
        """Write entries, checkpoints and the public key to ``folder`` for an outside auditor.

        For an admin (``actor``; the trust operator when not given): every entry leaves the
        trust. A fresh checkpoint is signed first when the newest one does not cover every
        entry, so the whole export is covered by a signature. The export is then recorded in the
        log (``audit.exported``, naming the actor); if that record cannot be written, the files
        just written are removed.
        """
        actor = self.trust.acting(actor)
        administer_audit(actor, "export the audit log")
        size, _ = chain.head(self._store)
        if max((c.tree_size for c in self.checkpoints()), default=-1) < size:
            self._sign()
        with self._store.engine.connect() as connection, connection.begin():
            summary = export_log(
                connection, self.checkpoints(), self.trust.signing_key.public, folder
            )
        try:
            with self.trust.unit_of_work(actor) as uow:
                uow.emit(
                    AuditExported(
                        folder=str(summary.folder.resolve()),
                        entries=summary.entries,
                        checkpoints=summary.checkpoints,
                        by=actor.email,
                    )
                )
        except BaseException:
            for name in (ENTRIES, CHECKPOINTS, PUBLIC_KEY, "README.txt"):
                (summary.folder / name).unlink(missing_ok=True)
            raise
        return summary

    # -- reading -----------------------------------------------------------------------------

    def log(self, filters: LogFilter | None = None, **criteria: Any) -> list[LogEntry]:
        """The newest entries first, narrowed by ``filters`` (or the same fields as keywords).

        Examples:
            >>> trust.audit.log(member="camden", kind="member.added", limit=10)  # doctest: +SKIP
        """
        f = filters or LogFilter(**criteria)
        query = select(EventRow)
        if f.member:
            query = query.where(EventRow.member == f.member)
        if f.agreement:
            query = query.where(EventRow.agreement == f.agreement)
        if f.kind:
            query = query.where(EventRow.kind == f.kind)
        if f.since:
            since = f.since if f.since.tzinfo else f.since.replace(tzinfo=UTC)
            query = query.where(EventRow.occurred_at >= since)
        query = query.order_by(EventRow.seq.desc()).limit(f.limit)
        with self._store.sessions() as session:
            return [
                LogEntry(
                    index=r.chain_index,
                    seq=r.seq,
                    occurred_at=r.occurred_at,
                    actor=r.actor,
                    kind=r.kind,
                    member=r.member,
                    agreement=r.agreement,
                    payload=_payload(r.payload),
                    entry_hash=r.entry_hash,
                )
                for r in session.scalars(query)
            ]

    # -- proving -----------------------------------------------------------------------------

    def prove_inclusion(self, index: int, tree_size: int | None = None) -> InclusionProof:
        """Prove entry ``index`` is in the log, against the newest signed checkpoint that
        covers it (one is signed now if none does).

        Examples:
            >>> proof = trust.audit.prove_inclusion(3)  # doctest: +SKIP
            >>> proof.problems(trust.signing_key.public)  # doctest: +SKIP
            []
        """
        size, _ = chain.head(self._store)
        if not 1 <= index <= size:
            raise NotFound(f"The audit log has entries 1 to {size}; there is no entry {index}.")
        checkpoint = self._checkpoint_covering(index, tree_size)
        leaves = self._leaves(checkpoint.tree_size, checkpoint)
        with self._store.engine.connect() as connection:
            row = next(db_entries(connection, after=index - 1, upto=index))
        return InclusionProof(
            index=index,
            tree_size=checkpoint.tree_size,
            entry={k: v for k, v in zip(FIELDS, row, strict=True)},
            path=[h.hex() for h in inclusion_path(index - 1, leaves)],
            root_hash=checkpoint.root_hash,
            checkpoint=checkpoint.as_dict(),
        )

    def prove_consistency(self, old_size: int, new_size: int | None = None) -> ConsistencyProof:
        """Prove the log of ``new_size`` entries (default: the newest checkpoint) extends the
        log of ``old_size`` entries."""
        checkpoints = self.checkpoints()
        if new_size is None:
            if not checkpoints:
                checkpoints = [self._sign()]
            new_size = checkpoints[-1].tree_size
        if not 0 < old_size <= new_size:
            raise InvalidInput(
                f"A consistency proof needs 0 < old size <= new size (got {old_size}, {new_size})"
            )
        leaves = self._leaves(new_size, None)
        old_root, new_root = tree_root(leaves[:old_size]).hex(), tree_root(leaves).hex()
        by_size = {(c.tree_size, c.root_hash): c for c in checkpoints}
        old_c, new_c = by_size.get((old_size, old_root)), by_size.get((new_size, new_root))
        return ConsistencyProof(
            old_size=old_size,
            new_size=new_size,
            old_root=old_root,
            new_root=new_root,
            path=[h.hex() for h in consistency_proof(old_size, leaves)],
            old_checkpoint=old_c.as_dict() if old_c else None,
            new_checkpoint=new_c.as_dict() if new_c else None,
        )

    def _checkpoint_covering(self, index: int, tree_size: int | None) -> Checkpoint:
        public = self.trust.signing_key.public
        usable = [
            c
            for c in self.checkpoints()
            if c.tree_size >= index
            and (tree_size is None or c.tree_size == tree_size)
            and c.is_signed_by(public)
        ]
        if usable:
            return usable[-1]
        if tree_size is not None:
            raise NotFound(f"No signed checkpoint of {tree_size} entries covers entry {index}.")
        return self._sign()

    def _leaves(self, size: int, checkpoint: Checkpoint | None) -> list[bytes]:
        with self._store.engine.connect() as connection:
            hashes = db_entry_hashes(connection, size)
        try:
            if len(hashes) != size:
                raise ValueError
            leaves = [leaf_hash(bytes.fromhex(h or "")) for h in hashes]
        except ValueError:
            raise IntegrityError(
                f"The audit log no longer holds entries 1 to {size} intact; "
                "run `accord audit verify` to see what changed."
            ) from None
        if checkpoint is not None and tree_root(leaves).hex() != checkpoint.root_hash:
            raise IntegrityError(
                f"The audit log no longer matches {checkpoint.describe()}; "
                "run `accord audit verify` to see what changed."
            )
        return leaves


def _payload(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {"unreadable": text}
    return value if isinstance(value, dict) else {"value": value}


__all__ = ["Audit", "LogEntry", "LogFilter"]

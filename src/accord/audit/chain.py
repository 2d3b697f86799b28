"""The hash chain: every event becomes the next entry of the audit log, in its own transaction.

Installed when a trust opens (``accord.trust.ON_OPEN``). The store calls :func:`_append` right
after each event row is flushed; it numbers the entry (``chain_index`` = head + 1), links it to
the head (``prev_hash``) and hashes it (``entry_hash``), all inside the transaction that
carries the change, so an event and its place in the chain are committed together or not at
all.

Why a ``chain_index`` and not ``seq``: on PostgreSQL a sequence hands out numbers before commit,
so a rolled-back transaction leaves a gap and two concurrent writers can commit out of ``seq``
order. The chain is numbered instead under a lock held until commit, which makes entry numbers
gap-free and in commit order on both backends.

Why appends cannot fork the chain: on PostgreSQL the first event of a transaction takes a
transaction-scoped advisory lock (one per schema, i.e. per trust) before reading the head; on
SQLite the event's INSERT has already taken the database's single write lock, and a writer
always reads the newest data. A unique index on ``chain_index`` backs both up.
"""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.orm.attributes import set_committed_value

import accord.audit.models  # noqa: F401  (registers the checkpoints table)
from accord.audit.entry import GENESIS, entry_bytes, iso_utc
from accord.core.store.models import EventRow

if TYPE_CHECKING:
    from accord.core.store.database import Store
    from accord.trust import Trust

log = logging.getLogger("accord.audit")

_HEAD = "accord.audit.head"  # (index, hash) of the newest entry of this transaction
_PENDING = "accord.audit.pending"  # event rows chained in this transaction
_DUE = "accord.audit.checkpoint_due"

_HEAD_SQL = (
    "SELECT chain_index, entry_hash FROM events "
    "WHERE chain_index = (SELECT max(chain_index) FROM events)"
)
# One lock per trust: two trusts may share a PostgreSQL database in different schemas.
_PG_LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtext('accord.audit.chain:' || current_schema()))"
_WRITE_SQL = (
    "UPDATE events SET chain_index = {m}, prev_hash = {m}, entry_hash = {m} WHERE seq = {m}"
)


def _cursor(session: Session) -> Any:
    """A driver cursor inside the session's transaction. The chain's three statements per
    transaction go through it directly: through SQLAlchemy they cost more than the rest of a
    one-event transaction."""
    return session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]


def install(trust: Trust) -> None:
    """Chain every event of ``trust`` and sign a checkpoint every ``checkpoint_every`` events."""
    store = trust.store
    if getattr(store, "_accord_audit_chain", False):
        return
    store._accord_audit_chain = True  # type: ignore[attr-defined]
    every = max(0, int(trust.settings.checkpoint_every))
    is_postgres = store.dialect == "postgresql"

    def append(session: Session, row: EventRow) -> None:
        _append(session, row, is_postgres=is_postgres, every=every)

    def after_commit(session: Session) -> None:
        due = session.info.get(_DUE, False)
        _forget(session)
        if due:
            _auto_checkpoint(trust)

    def before_commit(session: Session) -> None:
        _write_chain(session, is_postgres=is_postgres)

    def after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
        # Only the outer transaction: a rolled-back savepoint keeps the rest of the work.
        if transaction.parent is None and not transaction.nested:
            _forget(session)

    store.subscribe(append)
    event.listen(store.sessions, "before_commit", before_commit)
    event.listen(store.sessions, "after_commit", after_commit)
    event.listen(store.sessions, "after_transaction_end", after_transaction_end)


def _append(session: Session, row: EventRow, *, is_postgres: bool, every: int) -> None:
    info = session.info
    head = info.get(_HEAD)
    if head is None:
        head = _locked_head(session, is_postgres)
        info[_PENDING] = []
    index, digest = _link(row, head)
    info[_HEAD] = (index, digest)
    info[_PENDING].append(row)
    if every and index % every == 0:
        info[_DUE] = True


def _locked_head(session: Session, is_postgres: bool) -> tuple[int, str]:
    """Serialise appends, then read the committed head inside this transaction."""
    cursor = _cursor(session)
    try:
        if is_postgres:
            cursor.execute(_PG_LOCK_SQL)
        cursor.execute(_HEAD_SQL)
        found = cursor.fetchone()
    finally:
        cursor.close()
    return (int(found[0]), str(found[1])) if found else (0, GENESIS)


def _link(row: EventRow, head: tuple[int, str]) -> tuple[int, str]:
    """Give ``row`` the next place after ``head``; the values reach the database at commit."""
    index, prev = head[0] + 1, head[1]
    data = entry_bytes(
        index,
        iso_utc(row.occurred_at),
        row.actor,
        row.kind,
        row.member,
        row.agreement,
        row.payload,
        prev,
    )
    digest = hashlib.sha256(data).hexdigest()
    # Committed values, not changes: one UPDATE for the whole transaction at commit instead of
    # one per event at the next flush.
    set_committed_value(row, "chain_index", index)
    set_committed_value(row, "prev_hash", prev)
    set_committed_value(row, "entry_hash", digest)
    return index, digest


def _write_chain(session: Session, *, is_postgres: bool) -> None:
    """Before commit: write the chain columns of this transaction's events in one statement."""
    rows: list[EventRow] | None = session.info.get(_PENDING)
    if not rows:
        return
    kept = [r for r in rows if inspect(r).persistent]
    if len(kept) != len(rows):
        # A savepoint was rolled back and took some events with it (and perhaps the lock, if it
        # was taken inside): lock again, re-read the head and renumber the survivors.
        head = _locked_head(session, is_postgres)
        for r in kept:
            head = _link(r, head)
    params = [(r.chain_index, r.prev_hash, r.entry_hash, r.seq) for r in kept]
    if params:
        cursor = _cursor(session)
        try:
            sql = _WRITE_SQL.format(m="%s" if is_postgres else "?")
            if len(params) == 1:  # executemany's pipeline costs more than it saves for one row
                cursor.execute(sql, params[0])
            else:
                cursor.executemany(sql, params)
        finally:
            cursor.close()
    session.info[_PENDING] = []


def _forget(session: Session) -> None:
    for key in (_HEAD, _PENDING, _DUE):
        session.info.pop(key, None)


def _auto_checkpoint(trust: Trust) -> None:
    # The change is already committed; a failed checkpoint must not turn it into an error.
    # The next checkpoint (automatic or `accord audit checkpoint`) covers these entries too.
    from accord.audit.checkpoints import sign_checkpoint

    try:
        sign_checkpoint(trust.store, trust.signing_key)
    except Exception:  # pragma: no cover - logged, never raised to the committing caller
        log.exception("Could not sign the automatic audit checkpoint")


def head(store: Store) -> tuple[int, str]:
    """(number, hash) of the newest committed entry; (0, GENESIS) for an empty log."""
    with store.engine.connect() as connection:
        found = connection.exec_driver_sql(_HEAD_SQL).first()
    return (int(found[0]), str(found[1])) if found else (0, GENESIS)

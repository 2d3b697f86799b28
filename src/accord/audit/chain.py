"""The hash chain: every event becomes the next entry of the audit log, in its own transaction.

Installed when a trust opens (``accord.trust.ON_OPEN``). The unit of work calls :func:`_append`
as each event is emitted, before its row is written: it numbers the entry (``chain_index`` =
head + 1), links it to the head (``prev_hash``) and hashes it (``entry_hash``), so the row goes
to the database complete, in the same INSERT and transaction as the change it describes: an
event and its place in the chain are committed together or not at all.

Why a ``chain_index`` and not ``seq``: on PostgreSQL a sequence hands out numbers before commit,
so a rolled-back transaction leaves a gap and two concurrent writers can commit out of ``seq``
order. The chain is numbered instead under a lock held until commit, which makes entry numbers
gap-free and in commit order on both backends.

Why appends cannot fork the chain: the first event of a transaction takes a lock before it
reads the committed head, once per transaction; later events continue from the head kept in
the session. On PostgreSQL the lock is a transaction-scoped advisory lock (one per schema, i.e.
per trust); on SQLite it is the database's single write lock, taken with ``BEGIN IMMEDIATE``
(or, inside a transaction already open, a write that changes nothing), and a writer always
reads the newest data. A unique index on ``chain_index`` backs both up.

Savepoints: the head is remembered when one opens. Rolling it back drops its events (the unit
of work sees to that) and puts the head back, so the next event takes the first number it
freed; when the lock itself was taken inside it, the lock may be gone, and is taken again.
"""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

import accord.audit.models  # noqa: F401  (registers the checkpoints table)
from accord.audit.entry import GENESIS, entry_bytes, iso_utc
from accord.core.store.models import EventRow
from accord.core.store.unit_of_work import set_row_values

if TYPE_CHECKING:
    from accord.core.store.database import Store
    from accord.trust import Trust

log = logging.getLogger("accord.audit")

_HEAD = "accord.audit.head"  # (index, hash) of this transaction's newest entry, once locked
_MARKS = "accord.audit.marks"  # open savepoint -> the head when it opened
_DUE = "accord.audit.checkpoint_due"

_HEAD_SQL = (
    "SELECT chain_index, entry_hash FROM events "
    "WHERE chain_index = (SELECT max(chain_index) FROM events)"
)
# One lock per trust: two trusts may share a PostgreSQL database in different schemas.
_PG_LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtext('accord.audit.chain:' || current_schema()))"
# SQLite: a write that matches no row still takes the write lock (or fails at once if this
# transaction has read data another writer has since changed, rather than fork the chain).
_SQLITE_LOCK_SQL = "UPDATE events SET chain_index = chain_index WHERE 0"


def _cursor(session: Session) -> Any:
    """A driver cursor inside the session's transaction. The chain's statements go through it
    directly: through SQLAlchemy they cost more than the rest of a one-event transaction."""
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

    def after_transaction_create(session: Session, transaction: SessionTransaction) -> None:
        if transaction.nested:
            session.info.setdefault(_MARKS, {})[transaction] = session.info.get(_HEAD)

    def after_soft_rollback(session: Session, previous: SessionTransaction) -> None:
        marks = session.info.get(_MARKS)
        if marks and previous in marks:
            # None when the savepoint took the lock: PostgreSQL released it with the savepoint.
            session.info[_HEAD] = marks.pop(previous)

    def after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
        # Only the outer transaction: a rolled-back savepoint keeps the rest of the work.
        if transaction.parent is None and not transaction.nested:
            _forget(session)

    store.subscribe(append)
    event.listen(store.sessions, "after_commit", after_commit)
    event.listen(store.sessions, "after_transaction_create", after_transaction_create)
    event.listen(store.sessions, "after_soft_rollback", after_soft_rollback)
    event.listen(store.sessions, "after_transaction_end", after_transaction_end)


def _append(session: Session, row: EventRow, *, is_postgres: bool, every: int) -> None:
    """Give ``row`` the next place in the chain; the unit of work writes it with its values."""
    info = session.info
    head = info.get(_HEAD)
    if head is None:
        head = _locked_head(session, is_postgres)
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
    set_row_values(row, chain_index=index, prev_hash=prev, entry_hash=digest)
    info[_HEAD] = (index, digest)
    if every and index % every == 0:
        info[_DUE] = True


def _locked_head(session: Session, is_postgres: bool) -> tuple[int, str]:
    """Serialise appends, then read the committed head inside this transaction.

    Runs before this transaction has written any event, so the head read is the committed
    one; later events continue from the head kept in ``session.info``.
    """
    cursor = _cursor(session)
    try:
        if is_postgres:
            cursor.execute(_PG_LOCK_SQL)
        elif not cursor.connection.in_transaction:
            cursor.execute("BEGIN IMMEDIATE")
        else:
            cursor.execute(_SQLITE_LOCK_SQL)
        cursor.execute(_HEAD_SQL)
        found = cursor.fetchone()
    finally:
        cursor.close()
    return (int(found[0]), str(found[1])) if found else (0, GENESIS)


def _forget(session: Session) -> None:
    for key in (_HEAD, _MARKS, _DUE):
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

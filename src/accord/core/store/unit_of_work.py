"""A unit of work: one transaction in which state changes and their events are written.

Events are not flushed one at a time. ``emit`` builds the event row, shows it to the store's
subscribers (the audit chain numbers and hashes it there) and keeps it; the kept rows go to
the database together, in one multi-row INSERT, when the transaction commits, just before any
statement run through ``session.execute``/``scalars`` (so a transaction reads its own events),
when ``flush`` is called, or every ``BATCH`` events. A rolled-back savepoint takes the events
emitted inside it with it.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.orm import (
    ORMExecuteState,
    Session,
    SessionTransaction,
    configure_mappers,
    sessionmaker,
)

from accord.core.crypto.canonical import canonical_json
from accord.core.store.base import utcnow
from accord.core.store.models import EventRow

if TYPE_CHECKING:
    from accord.core.store.database import Store
    from accord.events import Event

BATCH = 500  # rows per INSERT: 9 parameters each, well inside SQLite's and psycopg's limits

_PENDING = "accord.events.pending"
_new_instance = EventRow.__mapper__.class_manager.new_instance
_mappers_ready = False
# The flag database.py's guard reads: this transaction carries at least one event.
_EVENTS_WRITTEN = "events_written"
_COLUMNS = (
    "occurred_at, actor, kind, member, agreement, payload, chain_index, prev_hash, entry_hash"
)


class _Pending:
    """The events of the open transaction in emit order; the first ``written`` are stored.

    ``marks`` remembers, for each open savepoint, how many events came before it and how many
    of those were stored before it, so that rolling it back can drop and re-store the right ones.
    """

    __slots__ = ("marks", "rows", "written")

    def __init__(self) -> None:
        self.rows: list[EventRow] = []
        self.written = 0
        self.marks: dict[SessionTransaction, tuple[int, int]] = {}


def _pending(session: Session) -> _Pending:
    found = session.info.get(_PENDING)
    if found is None:
        found = session.info[_PENDING] = _Pending()
    return found


class UnitOfWork:
    """Open a transaction; ``emit`` typed events; commit both together or neither.

    Examples:
        >>> with trust.unit_of_work() as uow:  # doctest: +SKIP
        ...     uow.session.add(row)
        ...     uow.emit(MemberAdded(member="camden", title="Camden", public_key="..."))
    """

    def __init__(self, store: Store, actor: str) -> None:
        self.store = store
        self.actor = actor
        self.session: Session = store.sessions()
        self.events: list[EventRow] = []

    def __enter__(self) -> UnitOfWork:
        self.session.begin()
        return self

    def emit(self, event: Event) -> EventRow:
        """Record ``event`` in this transaction and return its row.

        Subscribers see the row first (the audit chain sets its ``chain_index``, ``prev_hash``
        and ``entry_hash``); it is written with the transaction's other events, and its
        ``seq`` is known from then on (``None`` before).

        Examples:
            >>> with trust.unit_of_work() as uow:  # doctest: +SKIP
            ...     row = uow.emit(UserDeactivated(member="camden", email="a@camden.gov.uk"))
            >>> row.chain_index, row.seq  # doctest: +SKIP
            (42, 57)
        """
        row = _event_row(
            occurred_at=utcnow(),
            actor=self.actor,
            kind=event.kind,
            member=event.member_ref(),
            agreement=event.agreement_ref(),
            payload=canonical_json(event.model_dump(mode="json")).decode("utf-8"),
            seq=None,
            chain_index=None,
            prev_hash=None,
            entry_hash=None,
        )
        session = self.session
        for subscriber in self.store.subscribers:
            subscriber(session, row)
        pending = _pending(session)
        pending.rows.append(row)
        if len(pending.rows) - pending.written >= BATCH:
            write_pending(session)
        self.events.append(row)
        return row

    def flush(self) -> None:
        """Write the events emitted so far now, e.g. before reading them with raw SQL on
        ``session.connection()`` (ORM queries through the session do this themselves)."""
        write_pending(self.session)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                self.session.commit()
            else:
                self.session.rollback()
        finally:
            self.session.close()


def _event_row(**values: Any) -> EventRow:
    """A transient ``EventRow`` holding ``values``, made the way the ORM makes rows it loads:
    the row is never added to the session (it is written by :func:`write_pending`), and the
    mapped constructor's change tracking would cost more than the rest of ``emit``."""
    global _mappers_ready
    if not _mappers_ready:  # new_instance needs the mapped attributes set up
        configure_mappers()
        _mappers_ready = True
    row: EventRow = _new_instance()
    row.__dict__.update(values)
    return row


def set_row_values(row: EventRow, **values: Any) -> None:
    """Set columns of an emitted row that is not written yet (for subscribers, e.g. the
    audit chain): plain values to be written, not changes for the session to track."""
    row.__dict__.update(values)


def write_pending(session: Session) -> None:
    """Write the session's not yet stored events, ``BATCH`` rows per INSERT, and give each row
    its ``seq``.

    Straight through the driver cursor: a one-event transaction is a handful of statements,
    and SQLAlchemy's per-statement work would cost as much as the rest of it.
    """
    pending: _Pending | None = session.info.get(_PENDING)
    if pending is None or pending.written == len(pending.rows):
        return
    rows = pending.rows[pending.written :]
    connection = session.connection()
    dialect = connection.dialect
    when = _when(dialect)
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        for start in range(0, len(rows), BATCH):
            chunk = rows[start : start + BATCH]
            params: list[Any] = []
            for r in chunk:
                params += (
                    when(r.occurred_at),
                    r.actor,
                    r.kind,
                    r.member,
                    r.agreement,
                    r.payload,
                    r.chain_index,
                    r.prev_hash,
                    r.entry_hash,
                )
            cursor.execute(_insert_sql(dialect.name, len(chunk)), params)
            # Both backends number the rows of one multi-row INSERT in VALUES order (SQLite:
            # rowid = max + 1 per row under the write lock; PostgreSQL: nextval per row as the
            # VALUES list is scanned); RETURNING's own order is not promised, so sort.
            seqs = sorted(s for (s,) in cursor.fetchall())
            for r, s in zip(chunk, seqs, strict=True):
                set_row_values(r, seq=s)
    finally:
        cursor.close()
    pending.written = len(pending.rows)


_SQL: dict[tuple[str, int], str] = {}
_WHEN: dict[str, Callable[[Any], Any]] = {}


def _insert_sql(dialect: str, count: int) -> str:
    sql = _SQL.get((dialect, count))
    if sql is None:
        mark = "?" if dialect == "sqlite" else "%s"
        one = "(" + ", ".join([mark] * 9) + ")"
        values = ", ".join([one] * count)
        sql = _SQL[(dialect, count)] = (
            f"INSERT INTO events ({_COLUMNS}) VALUES {values} RETURNING seq"
        )
    return sql


def _when(dialect: Any) -> Callable[[Any], Any]:
    """The column's own bind processing (UTC; SQLite's text format), so a row written here is
    stored exactly as the ORM would store it."""
    found = _WHEN.get(dialect.name)
    if found is None:
        column = EventRow.__table__.c.occurred_at  # type: ignore[attr-defined]
        processor = column.type.dialect_impl(dialect).bind_processor(dialect)
        found = _WHEN[dialect.name] = processor or (lambda value: value)
    return found


def install_event_writer(factory: sessionmaker[Session]) -> None:
    """Write pending events at the moments listed in the module docstring, and keep them in
    step with savepoints. Called once per store, before the unlogged-change guard."""

    @event.listens_for(factory, "before_commit")
    def _before_commit(session: Session) -> None:
        # Only events that survived every rolled-back savepoint count for the guard.
        pending: _Pending | None = session.info.get(_PENDING)
        if pending is not None and pending.rows:
            session.info[_EVENTS_WRITTEN] = True
            write_pending(session)

    @event.listens_for(factory, "do_orm_execute")
    def _before_query(state: ORMExecuteState) -> None:
        write_pending(state.session)

    @event.listens_for(factory, "after_transaction_create")
    def _mark(session: Session, transaction: SessionTransaction) -> None:
        if transaction.nested:
            pending = _pending(session)
            pending.marks[transaction] = (len(pending.rows), pending.written)

    @event.listens_for(factory, "after_soft_rollback")
    def _undo(session: Session, previous: SessionTransaction) -> None:
        pending: _Pending | None = session.info.get(_PENDING)
        mark = pending.marks.pop(previous, None) if pending is not None else None
        if pending is not None and mark is not None:
            kept, written = mark
            del pending.rows[kept:]
            # Events emitted before the savepoint but stored inside it were undone too.
            pending.written = min(pending.written, written)

    @event.listens_for(factory, "after_transaction_end")
    def _forget(session: Session, transaction: SessionTransaction) -> None:
        if transaction.parent is None and not transaction.nested:
            session.info.pop(_PENDING, None)

"""A unit of work: one transaction in which state changes and their events are written."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from accord.core.crypto.canonical import canonical_json
from accord.core.store.base import utcnow
from accord.core.store.models import EventRow

if TYPE_CHECKING:
    from accord.core.store.database import Store
    from accord.events import Event


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
        row = EventRow(
            occurred_at=utcnow(),
            actor=self.actor,
            kind=event.kind,
            member=event.member_ref(),
            agreement=event.agreement_ref(),
            payload=canonical_json(event.model_dump(mode="json")).decode("utf-8"),
        )
        self.session.add(row)
        self.session.flush()
        for subscriber in self.store.subscribers:
            subscriber(self.session, row)
        self.events.append(row)
        return row

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

"""Typed events: every change to the trust's state is described by one of these.

Services never write to the ``events`` table themselves: they ``emit`` an event through the
unit of work that also carries their change, so both are committed together or not at all.
The audit log subscribes to events; it is never called ad hoc. A new capability declares its
own events by subclassing :class:`Event` and giving it a ``kind``.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

EVENT_TYPES: dict[str, type[Event]] = {}


class Event(BaseModel):
    """Base of all events. ``kind`` is the stable name stored in the log."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: ClassVar[str] = "event"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "kind" in cls.__dict__:
            if cls.kind in EVENT_TYPES and EVENT_TYPES[cls.kind] is not cls:
                raise TypeError(f"event kind {cls.kind!r} declared twice")
            EVENT_TYPES[cls.kind] = cls

    def member_ref(self) -> str | None:
        """The member this event concerns, for filtering the log."""
        return getattr(self, "member", None)

    def agreement_ref(self) -> str | None:
        """The agreement this event concerns, for filtering the log."""
        return getattr(self, "agreement", None)


def load_event(kind: str, payload: str) -> Event | dict[str, Any]:
    """Rebuild a typed event from the log; unknown kinds come back as plain dicts."""
    data = json.loads(payload)
    event_type = EVENT_TYPES.get(kind)
    return event_type.model_validate(data) if event_type else data


class TrustInitialised(Event):
    kind: ClassVar[str] = "trust.initialised"
    public_key: str


class MemberAdded(Event):
    kind: ClassVar[str] = "member.added"
    member: str
    title: str
    public_key: str


class UserAdded(Event):
    kind: ClassVar[str] = "user.added"
    member: str
    email: str
    roles: list[str]


class UserTokenRotated(Event):
    kind: ClassVar[str] = "user.token-rotated"
    member: str
    email: str


class UserDeactivated(Event):
    kind: ClassVar[str] = "user.deactivated"
    member: str
    email: str


class DatasetRegistered(Event):
    kind: ClassVar[str] = "dataset.registered"
    member: str
    dataset: str
    contract_sha256: str
    fields: list[str]


class ContractChanged(Event):
    kind: ClassVar[str] = "dataset.contract-changed"
    member: str
    dataset: str
    contract_sha256: str
    previous_sha256: str


class VersionCreated(Event):
    kind: ClassVar[str] = "dataset.version-created"
    member: str
    dataset: str
    version: int
    mode: str
    source: str
    rows_read: int
    rows_accepted: int
    rows_quarantined: int
    row_count: int
    sha256: str


class RowsQuarantined(Event):
    kind: ClassVar[str] = "dataset.rows-quarantined"
    member: str
    dataset: str
    version: int
    rows: int
    reasons: dict[str, int]


class IngestRefused(Event):
    kind: ClassVar[str] = "dataset.ingest-refused"
    member: str
    dataset: str
    source: str
    reason: str

"""One log entry and its canonical bytes: exactly what is hashed into the chain.

An entry's canonical bytes are the canonical JSON (sorted keys, UTF-8, no spaces) of::

    {"actor", "agreement", "index", "kind", "member", "occurred_at", "payload", "prev_hash"}

``index`` is the entry number in the log (1, 2, 3, …, no gaps), ``occurred_at`` is ISO 8601 in
UTC with microseconds (``2026-11-25T10:00:00.123456+00:00``), ``payload`` is the event's stored
canonical JSON *text* (hashed as a string, so its bytes are never re-encoded) and ``prev_hash``
is the SHA-256 (hex) of the previous entry's canonical bytes (64 zeros for entry 1).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from json.encoder import encode_basestring  # the C escaper json.dumps(ensure_ascii=False) uses

GENESIS = "0" * 64


def iso_utc(moment: datetime) -> str:
    """The canonical text of a time: ISO 8601, UTC, always with microseconds.

    Examples:
        >>> iso_utc(datetime(2026, 11, 25, 10, 0, tzinfo=UTC))
        '2026-11-25T10:00:00.000000+00:00'
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _text(value: str | None) -> str:
    return "null" if value is None else encode_basestring(value)


def entry_bytes(
    index: int,
    occurred_at: str,
    actor: str,
    kind: str,
    member: str | None,
    agreement: str | None,
    payload: str,
    prev_hash: str,
) -> bytes:
    """Canonical bytes of one entry; identical to ``canonical_json`` of the same dict.

    Written out by hand because verification runs it a million times: this is about three
    times faster than building a dict and calling ``json.dumps(sort_keys=True)``.

    Examples:
        >>> entry_bytes(1, "2026-11-25T10:00:00.000000+00:00", "a", "k", None, None, "{}", "0")
        b'{"actor":"a","agreement":null,"index":1,"kind":"k","member":null,"occurred_at":"2026-11-25T10:00:00.000000+00:00","payload":"{}","prev_hash":"0"}'
    """
    return (
        '{"actor":'
        + _text(actor)
        + ',"agreement":'
        + _text(agreement)
        + ',"index":'
        + str(int(index))
        + ',"kind":'
        + _text(kind)
        + ',"member":'
        + _text(member)
        + ',"occurred_at":'
        + _text(occurred_at)
        + ',"payload":'
        + _text(payload)
        + ',"prev_hash":'
        + _text(prev_hash)
        + "}"
    ).encode("utf-8")


def entry_hash(
    index: int,
    occurred_at: str,
    actor: str,
    kind: str,
    member: str | None,
    agreement: str | None,
    payload: str,
    prev_hash: str,
) -> str:
    """SHA-256 (hex) of an entry's canonical bytes."""
    data = entry_bytes(index, occurred_at, actor, kind, member, agreement, payload, prev_hash)
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Entry:
    """One entry of the audit log as stored (in the database or in an export)."""

    index: int
    seq: int | None
    occurred_at: str
    actor: str
    kind: str
    member: str | None
    agreement: str | None
    payload: str
    prev_hash: str
    entry_hash: str

    @classmethod
    def from_row(cls, row: tuple) -> Entry:  # type: ignore[type-arg]
        """From a reader tuple (index, seq, occurred_at, actor, kind, member, agreement,
        payload, prev_hash, entry_hash)."""
        return cls(*row)

    def canonical_bytes(self) -> bytes:
        return entry_bytes(
            self.index,
            self.occurred_at,
            self.actor,
            self.kind,
            self.member,
            self.agreement,
            self.payload,
            self.prev_hash,
        )

    def computed_hash(self) -> str:
        return hashlib.sha256(self.canonical_bytes()).hexdigest()

    def as_dict(self) -> dict[str, object]:
        return {
            "index": self.index,
            "seq": self.seq,
            "occurred_at": self.occurred_at,
            "actor": self.actor,
            "kind": self.kind,
            "member": self.member,
            "agreement": self.agreement,
            "payload": self.payload,
            "prev_hash": self.prev_hash,
            "entry_hash": self.entry_hash,
        }

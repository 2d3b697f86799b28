"""Events of the citizen view: every lookup, sign-in, one-time code and opt-out.

None of them holds a clear identifier: ``subjects`` are keyed hashes (HMAC-SHA256 under the
trust's secret) of the identifiers given, ``client`` a keyed hash of who asked (e.g. an IP
address). None says whether the person was found or how many uses there were: anyone who can
read the log could otherwise use it to learn whether someone is known to a service.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from accord.events import Event


class CitizenLookup(Event):
    """A citizen's report was looked up (and, the rate limit allowing, shown)."""

    kind: ClassVar[str] = "citizen.lookup"
    subjects: list[str]  # keyed hashes, one per identifier set given (NHS number; name set)
    client: str  # keyed hash of who asked
    channel: str  # cli, web or api


class CitizenLookupRefused(Event):
    """A lookup was refused before anything was looked up (too many lookups in a minute)."""

    kind: ClassVar[str] = "citizen.lookup-refused"
    subjects: list[str]
    client: str
    channel: str
    reason: str


class CitizenCodeIssued(Event):
    """A one-time sign-in code was issued for one set of identifiers (the NHS login stand-in)."""

    kind: ClassVar[str] = "citizen.code-issued"
    identity: str  # keyed hash of the whole identifier set the code is bound to
    code: str  # keyed hash of the code and the identity
    expires_at: datetime


class CitizenSignedIn(Event):
    kind: ClassVar[str] = "citizen.signed-in"
    identity: str
    code: str  # the code used (its keyed hash): a code works once
    client: str
    channel: str


class CitizenSignInFailed(Event):
    kind: ClassVar[str] = "citizen.sign-in-failed"
    identity: str
    client: str
    channel: str


class CitizenOptedOut(Event):
    """A citizen recorded a national data opt-out (by NHS number and/or the person keys found)."""

    kind: ClassVar[str] = "citizen.opted-out"
    subjects: list[str]
    source: str
    channel: str

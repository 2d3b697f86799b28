"""Events of the agreement lifecycle and of access decisions (the log filters on ``agreement``)."""

from __future__ import annotations

from typing import ClassVar

from accord.events import Event


class AgreementProposed(Event):
    kind: ClassVar[str] = "agreement.proposed"
    agreement: str
    version: int
    sha256: str
    title: str
    purpose: str | None
    controllers: list[str]
    recipients: list[str]


class AgreementSigned(Event):
    kind: ClassVar[str] = "agreement.signed"
    agreement: str
    version: int
    member: str
    signer: str
    sha256: str


class AgreementActivated(Event):
    kind: ClassVar[str] = "agreement.activated"
    agreement: str
    version: int
    sha256: str


class AgreementRevoked(Event):
    kind: ClassVar[str] = "agreement.revoked"
    agreement: str
    version: int
    reason: str


class AgreementExpired(Event):
    kind: ClassVar[str] = "agreement.expired"
    agreement: str
    version: int
    expires: str


class AccessDecided(Event):
    """A policy decision worth keeping (refusals are recorded by ``grant``)."""

    kind: ClassVar[str] = "access.decided"
    agreement: str
    member: str | None
    user: str
    purpose: str
    allowed: bool
    reasons: list[str]
    policy_ids: list[str]


# The kinds that change which policies are in force (the decision cache watches these).
LIFECYCLE_KINDS = (
    AgreementProposed.kind,
    AgreementSigned.kind,
    AgreementActivated.kind,
    AgreementRevoked.kind,
    AgreementExpired.kind,
)

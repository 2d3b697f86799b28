"""What the lifecycle service hands out: plain pydantic values for the CLI, API and web."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel


class SignatureInfo(BaseModel):
    member: str
    signer: str
    signed_at: datetime
    valid: bool


class VersionInfo(BaseModel):
    agreement: str
    version: int
    sha256: str
    proposed_at: datetime
    proposed_by: str
    status: str
    activated_at: datetime | None = None
    created: bool = True  # False when the same content was proposed again


class AgreementStatus(BaseModel):
    """Where one agreement stands, computed from signatures, dates and revocation."""

    id: str
    title: str
    state: str  # awaiting-signatures | scheduled | active | expired | revoked
    latest_version: int
    in_force_version: int | None
    purpose: str | None
    controllers: list[str]
    recipients: list[str]
    signatures: list[SignatureInfo]  # on the latest version
    missing_signatures: list[str]  # controllers yet to sign the latest version
    proposed_at: datetime  # of version 1
    latest_proposed_at: datetime
    activated_at: datetime | None
    valid_from: str | None
    expires: str | None
    revoked_reason: str | None = None
    problems: list[str] = []

    @property
    def time_to_active(self) -> timedelta | None:
        """From the first proposal to the version in force becoming active."""
        if self.activated_at is None:
            return None
        return self.activated_at - self.proposed_at


class HistoryEntry(BaseModel):
    seq: int
    occurred_at: datetime
    actor: str
    kind: str
    summary: str

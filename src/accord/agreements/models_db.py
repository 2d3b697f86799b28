"""Tables of the agreements service: agreements, their versions and the controllers' signatures."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from accord.core.store.base import Base, UTCDateTime, utcnow


class AgreementRow(Base):
    """One agreement id; its content lives in versions."""

    __tablename__ = "agreements"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    latest_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(String(320), nullable=True)
    revoked_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class AgreementVersionRow(Base):
    """An immutable version: the canonical JSON every controller signs, and its recorded status."""

    __tablename__ = "agreement_versions"
    __table_args__ = (UniqueConstraint("agreement_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agreement_id: Mapped[str] = mapped_column(ForeignKey("agreements.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    canonical_json: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    # draft | active | superseded | expired | revoked — the last transition recorded.
    status: Mapped[str] = mapped_column(String(16), default="draft")
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    proposed_by: Mapped[str] = mapped_column(String(320))
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class SignatureRow(Base):
    """One controller's Ed25519 signature over one version's canonical JSON."""

    __tablename__ = "agreement_signatures"
    __table_args__ = (UniqueConstraint("version_id", "member"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("agreement_versions.id"), index=True)
    member: Mapped[str] = mapped_column(String(64))
    signer_email: Mapped[str] = mapped_column(String(320))
    signature_b64: Mapped[str] = mapped_column(String(200))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

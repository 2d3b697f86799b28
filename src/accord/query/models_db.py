"""Tables of the query service: releases, opt-outs and the aggregate history for differencing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from accord.core.store.base import Base, UTCDateTime, utcnow
from accord.core.store.models import BigId
from accord.query.events import ReleaseMade


class ReleaseRow(Base):
    """One answer that left the trust; its contributors are in ``contributors_path`` (Parquet)."""

    __tablename__ = "releases"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    made_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    user_email: Mapped[str] = mapped_column(String(320))
    member: Mapped[str] = mapped_column(String(64), index=True)
    agreement: Mapped[str] = mapped_column(String(128), index=True)
    agreement_version: Mapped[int] = mapped_column(Integer)
    purpose: Mapped[str] = mapped_column(String(128))
    sql_text: Mapped[str] = mapped_column(Text)
    columns: Mapped[list[str]] = mapped_column(JSON)
    output: Mapped[str] = mapped_column(String(16))
    rows_out: Mapped[int] = mapped_column(BigInteger)
    people: Mapped[int] = mapped_column(BigInteger)
    checksum: Mapped[str] = mapped_column(String(64))
    contributors_path: Mapped[str] = mapped_column(String(500))
    changes: Mapped[list[str]] = mapped_column(JSON)

    @classmethod
    def values_of(
        cls, event: ReleaseMade, *, made_at: datetime, contributors_path: str, changes: list[str]
    ) -> dict[str, object]:
        """The column values of a release's row, from its event (for a Core INSERT)."""
        return {
            "id": event.release_id,
            "made_at": made_at,
            "user_email": event.user,
            "member": event.member,
            "agreement": event.agreement,
            "agreement_version": event.agreement_version,
            "purpose": event.purpose,
            "sql_text": event.sql,
            "columns": event.columns,
            "output": event.output,
            "rows_out": event.rows_out,
            "people": event.people,
            "checksum": event.checksum,
            "contributors_path": contributors_path,
            "changes": changes,
        }


class OptOutRow(Base):
    """A citizen's objection, by keyed hash of the NHS number and/or by person key."""

    __tablename__ = "opt_outs"
    __table_args__ = (
        Index("ix_opt_outs_nhs_hash", "nhs_hash"),
        Index("ix_opt_outs_person_key", "person_key"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    nhs_hash: Mapped[str | None] = mapped_column(String(64))
    person_key: Mapped[str | None] = mapped_column(String(128))
    source: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AggregateCellRow(Base):
    """One cell of an aggregate release, for the differencing check of later answers."""

    __tablename__ = "aggregate_cells"
    __table_args__ = (Index("ix_aggregate_cells_scope", "agreement", "member"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    release_id: Mapped[str] = mapped_column(String(40), index=True)
    agreement: Mapped[str] = mapped_column(String(128))
    member: Mapped[str] = mapped_column(String(64))
    cell: Mapped[int] = mapped_column(Integer)
    people: Mapped[int] = mapped_column(BigInteger)
    released: Mapped[bool] = mapped_column(Boolean)

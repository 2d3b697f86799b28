"""Tables of linkage: runs, trained models, the person-key registry, key lineage, the review
queue. Large per-record data (pairs, clusters, keys) lives in Parquet under the trust home."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from accord.core.store.base import Base, UTCDateTime, utcnow


class LinkRunRow(Base):
    __tablename__ = "link_runs"
    __table_args__ = (UniqueConstraint("agreement", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agreement: Mapped[str] = mapped_column(String(128), index=True)
    agreement_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # full | recluster | incremental
    backend: Mapped[str] = mapped_column(String(16))
    model_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    datasets: Mapped[list[str]] = mapped_column(JSON)
    roles: Mapped[list[str]] = mapped_column(JSON)
    link_threshold: Mapped[float] = mapped_column(Float)
    review_floor: Mapped[float] = mapped_column(Float)
    records: Mapped[int] = mapped_column(BigInteger)
    pairs: Mapped[int] = mapped_column(BigInteger)
    clusters: Mapped[int] = mapped_column(BigInteger)
    review_added: Mapped[int] = mapped_column(Integer)
    keys_created: Mapped[int] = mapped_column(Integer)
    keys_retired: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(String(500))
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LinkModelRow(Base):
    __tablename__ = "link_models"
    __table_args__ = (UniqueConstraint("agreement", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agreement: Mapped[str] = mapped_column(String(128), index=True)
    agreement_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    version: Mapped[int] = mapped_column(Integer)
    run_number: Mapped[int] = mapped_column(Integer)
    trained_from: Mapped[str] = mapped_column(String(32))
    sha256: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PersonKeyRow(Base):
    """Every person key ever issued; a key is never issued twice."""

    __tablename__ = "person_keys"

    key: Mapped[str] = mapped_column(String(16), primary_key=True)
    agreement: Mapped[str] = mapped_column(String(128), index=True)
    created_in_run: Mapped[int] = mapped_column(Integer)
    retired_in_run: Mapped[int | None] = mapped_column(Integer, nullable=True)


class KeyLineageRow(Base):
    __tablename__ = "person_key_lineage"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agreement: Mapped[str] = mapped_column(String(128), index=True)
    run_number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(8))  # merge | split
    key: Mapped[str] = mapped_column(String(16), index=True)
    related: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ReviewRow(Base):
    __tablename__ = "link_review"
    __table_args__ = (
        UniqueConstraint("agreement", "dataset_l", "record_l", "dataset_r", "record_r"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agreement: Mapped[str] = mapped_column(String(128), index=True)
    dataset_l: Mapped[str] = mapped_column(String(130))
    record_l: Mapped[str] = mapped_column(String(300))
    dataset_r: Mapped[str] = mapped_column(String(130))
    record_r: Mapped[str] = mapped_column(String(300))
    match_probability: Mapped[float | None] = mapped_column(Float, nullable=True)
    run_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open|accepted|rejected
    reviewer: Mapped[str | None] = mapped_column(String(320), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

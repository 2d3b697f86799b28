"""Tables of the audit log: signed checkpoints (the chain columns live on ``events``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from accord.core.store.base import Base, UTCDateTime


class CheckpointRow(Base):
    """A checkpoint signed by the trust: the log's size, Merkle root and head at a moment.

    Writing one is not an event (that would append to the log it describes, forever); it is
    self-authenticating instead: its signature covers every field but ``frontier``, which is
    only a cache for the next checkpoint and is checked against the signed root before use.
    """

    __tablename__ = "audit_checkpoints"
    __accord_unlogged__ = True  # see above: exempt from the "every change has an event" rule

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tree_size: Mapped[int] = mapped_column(BigInteger, index=True)
    root_hash: Mapped[str] = mapped_column(String(64))
    head_hash: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    signature: Mapped[str] = mapped_column(String(100))
    frontier: Mapped[str] = mapped_column(Text)

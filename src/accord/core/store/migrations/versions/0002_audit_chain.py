"""Audit chain: chain columns on events and the table of signed checkpoints.

Events already in an older home are chained in ``seq`` order when it is upgraded (they were
written before the chain existed, so the chain vouches for them only from this point on).

Revision ID: 0002_audit_chain
Revises: 0001
Create Date: 2026-11-25
"""

import hashlib

import sqlalchemy as sa
from alembic import op

from accord.audit.entry import GENESIS, entry_bytes, iso_utc
from accord.core.store.base import UTCDateTime

revision = "0002_audit_chain"
down_revision = "0001"
branch_labels = None
depends_on = None

_BATCH = 5000


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("chain_index", sa.BigInteger, nullable=True))
        batch.add_column(sa.Column("prev_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("entry_hash", sa.String(64), nullable=True))
    op.create_index("ix_events_chain_index", "events", ["chain_index"], unique=True)
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("tree_size", sa.BigInteger, nullable=False),
        sa.Column("root_hash", sa.String(64), nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.Column("signed_at", UTCDateTime(), nullable=False),
        sa.Column("signature", sa.String(100), nullable=False),
        sa.Column("frontier", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_checkpoints"),
    )
    op.create_index("ix_audit_checkpoints_tree_size", "audit_checkpoints", ["tree_size"])
    _chain_existing_events()


def downgrade() -> None:
    op.drop_index("ix_audit_checkpoints_tree_size", table_name="audit_checkpoints")
    op.drop_table("audit_checkpoints")
    op.drop_index("ix_events_chain_index", table_name="events")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("entry_hash")
        batch.drop_column("prev_hash")
        batch.drop_column("chain_index")


def _chain_existing_events() -> None:
    events = sa.table(
        "events",
        sa.column("seq", sa.BigInteger),
        sa.column("occurred_at", UTCDateTime()),
        sa.column("actor", sa.String),
        sa.column("kind", sa.String),
        sa.column("member", sa.String),
        sa.column("agreement", sa.String),
        sa.column("payload", sa.Text),
        sa.column("chain_index", sa.BigInteger),
        sa.column("prev_hash", sa.String),
        sa.column("entry_hash", sa.String),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(
            events.c.seq,
            events.c.occurred_at,
            events.c.actor,
            events.c.kind,
            events.c.member,
            events.c.agreement,
            events.c.payload,
        ).order_by(events.c.seq)
    ).all()
    update = (
        sa.update(events)
        .where(events.c.seq == sa.bindparam("b_seq"))
        .values(
            chain_index=sa.bindparam("b_index"),
            prev_hash=sa.bindparam("b_prev"),
            entry_hash=sa.bindparam("b_hash"),
        )
    )
    prev, batch = GENESIS, []
    for index, (seq, occurred_at, actor, kind, member, agreement, payload) in enumerate(rows, 1):
        data = entry_bytes(
            index, iso_utc(occurred_at), actor, kind, member, agreement, payload, prev
        )
        digest = hashlib.sha256(data).hexdigest()
        batch.append({"b_seq": seq, "b_index": index, "b_prev": prev, "b_hash": digest})
        prev = digest
        if len(batch) >= _BATCH:
            bind.execute(update, batch)
            batch = []
    if batch:
        bind.execute(update, batch)

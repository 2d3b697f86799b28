"""Queries: releases, opt-outs, aggregate cells (differencing history).

Revision ID: 0004_queries
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

from accord.core.store.base import UTCDateTime

revision = "0004_queries"
down_revision = "0001"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "releases",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("made_at", UTCDateTime(), nullable=False),
        sa.Column("user_email", sa.String(320), nullable=False),
        sa.Column("member", sa.String(64), nullable=False),
        sa.Column("agreement", sa.String(128), nullable=False),
        sa.Column("agreement_version", sa.Integer, nullable=False),
        sa.Column("purpose", sa.String(128), nullable=False),
        sa.Column("sql_text", sa.Text, nullable=False),
        sa.Column("columns", sa.JSON, nullable=False),
        sa.Column("output", sa.String(16), nullable=False),
        sa.Column("rows_out", sa.BigInteger, nullable=False),
        sa.Column("people", sa.BigInteger, nullable=False),
        sa.Column("checksum", sa.String(64), nullable=False),
        sa.Column("contributors_path", sa.String(500), nullable=False),
        sa.Column("changes", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_releases"),
    )
    op.create_index("ix_releases_made_at", "releases", ["made_at"])
    op.create_index("ix_releases_member", "releases", ["member"])
    op.create_index("ix_releases_agreement", "releases", ["agreement"])
    op.create_table(
        "opt_outs",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("nhs_hash", sa.String(64), nullable=True),
        sa.Column("person_key", sa.String(128), nullable=True),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_opt_outs"),
    )
    op.create_index("ix_opt_outs_nhs_hash", "opt_outs", ["nhs_hash"])
    op.create_index("ix_opt_outs_person_key", "opt_outs", ["person_key"])
    op.create_table(
        "aggregate_cells",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("release_id", sa.String(40), nullable=False),
        sa.Column("agreement", sa.String(128), nullable=False),
        sa.Column("member", sa.String(64), nullable=False),
        sa.Column("cell", sa.Integer, nullable=False),
        sa.Column("people", sa.BigInteger, nullable=False),
        sa.Column("released", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_aggregate_cells"),
    )
    op.create_index("ix_aggregate_cells_release_id", "aggregate_cells", ["release_id"])
    op.create_index("ix_aggregate_cells_scope", "aggregate_cells", ["agreement", "member"])


def downgrade() -> None:
    for table in ("aggregate_cells", "opt_outs", "releases"):
        op.drop_table(table)

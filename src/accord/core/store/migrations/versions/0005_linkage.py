"""Linkage: runs, models, person keys and their lineage, the review queue.

Revision ID: 0005_linkage
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

from accord.core.store.base import UTCDateTime

revision = "0005_linkage"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "link_runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("agreement", sa.String(128), nullable=False),
        sa.Column("agreement_version", sa.Integer, nullable=True),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("backend", sa.String(16), nullable=False),
        sa.Column("model_version", sa.Integer, nullable=True),
        sa.Column("datasets", sa.JSON, nullable=False),
        sa.Column("roles", sa.JSON, nullable=False),
        sa.Column("link_threshold", sa.Float, nullable=False),
        sa.Column("review_floor", sa.Float, nullable=False),
        sa.Column("records", sa.BigInteger, nullable=False),
        sa.Column("pairs", sa.BigInteger, nullable=False),
        sa.Column("clusters", sa.BigInteger, nullable=False),
        sa.Column("review_added", sa.Integer, nullable=False),
        sa.Column("keys_created", sa.Integer, nullable=False),
        sa.Column("keys_retired", sa.Integer, nullable=False),
        sa.Column("path", sa.String(500), nullable=False),
        sa.Column("summary", sa.JSON, nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_link_runs"),
        sa.UniqueConstraint("agreement", "number", name="uq_link_runs_agreement"),
    )
    op.create_index("ix_link_runs_agreement", "link_runs", ["agreement"])
    op.create_table(
        "link_models",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("agreement", sa.String(128), nullable=False),
        sa.Column("agreement_version", sa.Integer, nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("run_number", sa.Integer, nullable=False),
        sa.Column("trained_from", sa.String(32), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("path", sa.String(500), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_link_models"),
        sa.UniqueConstraint("agreement", "version", name="uq_link_models_agreement"),
    )
    op.create_index("ix_link_models_agreement", "link_models", ["agreement"])
    op.create_table(
        "person_keys",
        sa.Column("key", sa.String(16), nullable=False),
        sa.Column("agreement", sa.String(128), nullable=False),
        sa.Column("created_in_run", sa.Integer, nullable=False),
        sa.Column("retired_in_run", sa.Integer, nullable=True),
        sa.PrimaryKeyConstraint("key", name="pk_person_keys"),
    )
    op.create_index("ix_person_keys_agreement", "person_keys", ["agreement"])
    op.create_table(
        "person_key_lineage",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("agreement", sa.String(128), nullable=False),
        sa.Column("run_number", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("key", sa.String(16), nullable=False),
        sa.Column("related", sa.JSON, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_person_key_lineage"),
    )
    op.create_index("ix_person_key_lineage_agreement", "person_key_lineage", ["agreement"])
    op.create_index("ix_person_key_lineage_key", "person_key_lineage", ["key"])
    op.create_table(
        "link_review",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("agreement", sa.String(128), nullable=False),
        sa.Column("dataset_l", sa.String(130), nullable=False),
        sa.Column("record_l", sa.String(300), nullable=False),
        sa.Column("dataset_r", sa.String(130), nullable=False),
        sa.Column("record_r", sa.String(300), nullable=False),
        sa.Column("match_probability", sa.Float, nullable=True),
        sa.Column("run_number", sa.Integer, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reviewer", sa.String(320), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_link_review"),
        sa.UniqueConstraint(
            "agreement",
            "dataset_l",
            "record_l",
            "dataset_r",
            "record_r",
            name="uq_link_review_agreement",
        ),
    )
    op.create_index("ix_link_review_agreement", "link_review", ["agreement"])


def downgrade() -> None:
    for table in ("link_review", "person_key_lineage", "person_keys", "link_models", "link_runs"):
        op.drop_table(table)

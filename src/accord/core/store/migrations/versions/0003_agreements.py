"""Agreements: agreements, agreement_versions, agreement_signatures.

Revision ID: 0003_agreements
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

from accord.core.store.base import UTCDateTime

revision = "0003_agreements"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agreements",
        sa.Column("id", sa.String(100), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("latest_version", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_by", sa.String(320), nullable=True),
        sa.Column("revoked_reason", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_agreements"),
    )
    op.create_table(
        "agreement_versions",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("agreement_id", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("canonical_json", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("proposed_at", UTCDateTime(), nullable=False),
        sa.Column("proposed_by", sa.String(320), nullable=False),
        sa.Column("activated_at", UTCDateTime(), nullable=True),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_agreement_versions"),
        sa.ForeignKeyConstraint(
            ["agreement_id"],
            ["agreements.id"],
            name="fk_agreement_versions_agreement_id_agreements",
        ),
        sa.UniqueConstraint("agreement_id", "version", name="uq_agreement_versions_agreement_id"),
    )
    op.create_index("ix_agreement_versions_agreement_id", "agreement_versions", ["agreement_id"])
    op.create_table(
        "agreement_signatures",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("version_id", sa.Integer, nullable=False),
        sa.Column("member", sa.String(64), nullable=False),
        sa.Column("signer_email", sa.String(320), nullable=False),
        sa.Column("signature_b64", sa.String(200), nullable=False),
        sa.Column("signed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_agreement_signatures"),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["agreement_versions.id"],
            name="fk_agreement_signatures_version_id_agreement_versions",
        ),
        sa.UniqueConstraint("version_id", "member", name="uq_agreement_signatures_version_id"),
    )
    op.create_index("ix_agreement_signatures_version_id", "agreement_signatures", ["version_id"])


def downgrade() -> None:
    op.drop_table("agreement_signatures")
    op.drop_table("agreement_versions")
    op.drop_table("agreements")

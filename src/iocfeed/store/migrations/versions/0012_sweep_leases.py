"""Cluster-wide sweep leases: a periodic job runs once per interval across all workers.

Revision ID: 0012
Revises: 0005
Create Date: 2026-11-29 19:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sweep_leases",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("due_at", sa.BigInteger(), nullable=False, comment="earliest next claim"),
        sa.Column("holder", sa.String(128), nullable=True, comment="who claimed it last"),
        sa.Column("claimed_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("name", name="pk_sweep_leases"),
    )


def downgrade() -> None:
    op.drop_table("sweep_leases")

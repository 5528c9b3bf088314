"""Writers' shadows of indicators above their TLP ceiling.

A write above the writer's TLP ceiling changes nothing; it merges into the writer's own
``indicator_shadows`` row instead, so that repeating it answers ``unchanged`` or ``updated``
as a value that was new would, and never reveals the real indicator (``indicators.merge``).
The table starts empty.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 17:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "indicator_shadows",
        sa.Column(
            "writer",
            sa.String(length=64),
            nullable=False,
            comment="who loaded: the API key id (the account, once keys belong to accounts)",
        ),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column(
            "state",
            sa.Text(),
            nullable=False,
            comment="the indicator as the writer's withheld loads made it, JSON",
        ),
        sa.Column("updated", sa.BigInteger(), nullable=False, comment="last withheld load"),
        sa.PrimaryKeyConstraint("writer", "type", "value", name=op.f("pk_indicator_shadows")),
    )


def downgrade() -> None:
    op.drop_table("indicator_shadows")

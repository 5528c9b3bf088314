"""False-positive lists: operator policies and lists, and the flagged mark on versions.

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-29 19:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "warninglists",
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False, comment="misp or operator"),
        sa.Column("policy", sa.String(8), nullable=False, comment="block, flag, allow or off"),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "entries",
            sa.Text(),
            nullable=True,
            comment="operator lists: JSON {values, domains, networks}; NULL for MISP lists",
        ),
        sa.Column("updated", sa.BigInteger(), nullable=False),
        sa.Column(
            "recheck_due", sa.BigInteger(), nullable=True, comment="when a re-check was asked"
        ),
        sa.PrimaryKeyConstraint("name", name="pk_warninglists"),
    )
    with op.batch_alter_table("indicator_versions") as batch:
        batch.add_column(
            sa.Column(
                "flagged",
                sa.Boolean(),
                nullable=False,
                server_default=sa.false(),
                comment=(
                    "tagged warninglist:<name> by a flag list; kept out of exports unless asked"
                ),
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("indicator_versions") as batch:
        batch.drop_column("flagged")
    op.drop_table("warninglists")

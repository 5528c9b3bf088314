"""Versions posted to the TAXII Submissions collection.

``indicator_versions.submitted`` marks the versions that a TAXII Add Objects request to the
Submissions collection created; that collection serves only those, so a poller of every
collection does not receive each indicator a third time. A partial index on ``date_added``
keeps its walk as cheap as a walk of the other collections. Existing versions were loaded
through other paths as far as anyone can tell, and start unmarked.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 17:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("indicator_versions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "submitted",
                sa.Boolean(),
                nullable=False,
                server_default=sa.false(),
                comment="posted to the TAXII Submissions collection",
            )
        )
    op.create_index(
        "ix_indicator_versions_submitted_date_added",
        "indicator_versions",
        ["date_added"],
        unique=False,
        sqlite_where=sa.text("submitted IS 1"),
        postgresql_where=sa.text("submitted IS true"),
    )


def downgrade() -> None:
    op.drop_index("ix_indicator_versions_submitted_date_added", table_name="indicator_versions")
    with op.batch_alter_table("indicator_versions", schema=None) as batch_op:
        batch_op.drop_column("submitted")

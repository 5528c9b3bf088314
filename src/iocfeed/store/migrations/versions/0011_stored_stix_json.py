"""Each version's STIX object stored as JSON when it is written (``stix.stored``).

Adds the nullable ``indicator_versions.stix_json``. Rows already stored are filled in by
``store.backfill`` right after the migrations, in batches of their own transactions with
progress (``iocfeed db upgrade`` runs both); until a row is filled in, reads build its JSON
from the row, so the store serves the same objects throughout.

Revision ID: 0011
Revises: 0005
Create Date: 2026-11-29 19:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("indicator_versions") as batch:
        batch.add_column(
            sa.Column(
                "stix_json",
                sa.LargeBinary(),
                nullable=True,
                comment="the version's SDO as JSON, without created_by_ref and object_marking_refs",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("indicator_versions") as batch:
        batch.drop_column("stix_json")

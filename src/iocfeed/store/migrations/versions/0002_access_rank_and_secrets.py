"""Version access rank and server secrets.

``indicator_versions.access_rank`` is the rank a key's highest TLP must reach to be served
the version: the higher of the version's own TLP and its indicator's current TLP, so that
raising an indicator's TLP withdraws every earlier version at once. ``server_secrets`` holds
secrets every worker shares (the key that signs paging tokens).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 16:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_BACKFILL = """
UPDATE indicator_versions SET access_rank = (
    SELECT CASE WHEN c.tlp_rank > indicator_versions.tlp_rank
                THEN c.tlp_rank ELSE indicator_versions.tlp_rank END
    FROM indicator_versions AS c
    WHERE c.stix_id = indicator_versions.stix_id AND c.superseded_at IS NULL
)
"""


def upgrade() -> None:
    op.create_table(
        "server_secrets",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_server_secrets")),
    )
    with op.batch_alter_table("indicator_versions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "access_rank",
                sa.SmallInteger(),
                nullable=True,
                comment="max(own TLP rank, current TLP rank of the indicator)",
            )
        )
    op.execute(_BACKFILL)
    op.execute("UPDATE indicator_versions SET access_rank = tlp_rank WHERE access_rank IS NULL")
    with op.batch_alter_table("indicator_versions", schema=None) as batch_op:
        batch_op.alter_column("access_rank", existing_type=sa.SmallInteger(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("indicator_versions", schema=None) as batch_op:
        batch_op.drop_column("access_rank")
    op.drop_table("server_secrets")

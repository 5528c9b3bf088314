"""Decay and sightings: each version's exported score and decay times, and the sightings
consumers report back.

Current live versions of decaying types get ``decay_next = 0``, so the first decay sweep
after the upgrade scores them (and publishes a version with ``valid_until`` for each).

Revision ID: 0008
Revises: 0006
Create Date: 2026-11-29 19:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_CURRENT = sa.text("superseded_at IS NULL")
# Types without a default decay model (SPEC §1: CVEs and ATT&CK techniques do not decay).
_NOT_DECAYING = ("cve", "mitre_attack")


def upgrade() -> None:
    with op.batch_alter_table("indicator_versions") as batch:
        batch.add_column(
            sa.Column(
                "score",
                sa.SmallInteger(),
                nullable=True,
                comment="exported STIX confidence; NULL = fixed",
            )
        )
        batch.add_column(
            sa.Column(
                "penalty",
                sa.SmallInteger(),
                nullable=False,
                server_default="0",
                comment="points false-positive reports took off the base score",
            )
        )
        batch.add_column(
            sa.Column(
                "decay_until", sa.BigInteger(), nullable=True, comment="when decay revokes it"
            )
        )
        batch.add_column(
            sa.Column(
                "decay_next",
                sa.BigInteger(),
                nullable=True,
                comment="when the decay sweep looks again",
            )
        )
    op.create_index(
        "ix_indicator_versions_decay_next",
        "indicator_versions",
        ["decay_next"],
        sqlite_where=_CURRENT,
        postgresql_where=_CURRENT,
    )
    versions = sa.table(
        "indicator_versions",
        sa.column("type", sa.String),
        sa.column("revoked", sa.Boolean),
        sa.column("superseded_at", sa.BigInteger),
        sa.column("decay_next", sa.BigInteger),
    )
    op.execute(
        versions.update()
        .where(
            versions.c.superseded_at.is_(None),
            versions.c.revoked.is_(False),
            versions.c.type.not_in(_NOT_DECAYING),
        )
        .values(decay_next=0)
    )
    op.create_table(
        "sightings",
        sa.Column("seq", _ROW_ID, primary_key=True, autoincrement=True),
        sa.Column("object_id", sa.String(80), nullable=False),
        sa.Column("stix_id", sa.String(80), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False, comment="the reporting account"),
        sa.Column("key_id", sa.String(32), nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("first_seen", sa.BigInteger(), nullable=False),
        sa.Column("last_seen", sa.BigInteger(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_sightings")),
    )
    op.create_index("uq_sightings_object_id", "sightings", ["object_id"], unique=True)
    op.create_index(
        "ix_sightings_stix_id_kind_account_id", "sightings", ["stix_id", "kind", "account_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_sightings_stix_id_kind_account_id", table_name="sightings")
    op.drop_index("uq_sightings_object_id", table_name="sightings")
    op.drop_table("sightings")
    op.drop_index("ix_indicator_versions_decay_next", table_name="indicator_versions")
    with op.batch_alter_table("indicator_versions") as batch:
        batch.drop_column("decay_next")
        batch.drop_column("decay_until")
        batch.drop_column("penalty")
        batch.drop_column("score")

"""Initial schema: indicator versions, write clock, API keys, rate counters, audit, status.

Revision ID: 0001
Revises:
Create Date: 2026-11-28 13:25:29.981911
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("plan", sa.String(length=64), nullable=False),
        sa.Column(
            "secret_hash", sa.String(length=64), nullable=False, comment="SHA-256 hex of the secret"
        ),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("expires", sa.BigInteger(), nullable=True),
        sa.Column("revoked", sa.BigInteger(), nullable=True, comment="when it was revoked"),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_api_keys")),
    )
    op.create_table(
        "audit_log",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("parameters", sa.Text(), nullable=False, comment="JSON object"),
        sa.Column("result_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_at", ["at"], unique=False)

    op.create_table(
        "indicator_versions",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("stix_id", sa.String(length=80), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("confidence", sa.String(length=8), nullable=False),
        sa.Column("tags", sa.Text(), nullable=False, comment="JSON array of strings"),
        sa.Column("techniques", sa.Text(), nullable=False, comment="JSON array of ATT&CK ids"),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column(
            "tlp",
            sa.String(length=16),
            nullable=True,
            comment="operator-set TLP, NULL = from confidence",
        ),
        sa.Column(
            "tlp_rank", sa.SmallInteger(), nullable=False, comment="rank of the effective TLP"
        ),
        sa.Column("first_seen", sa.BigInteger(), nullable=False),
        sa.Column("last_seen", sa.BigInteger(), nullable=False),
        sa.Column("valid_until", sa.BigInteger(), nullable=True),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("modified", sa.BigInteger(), nullable=False),
        sa.Column("date_added", sa.BigInteger(), nullable=False),
        sa.Column("superseded_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_indicator_versions")),
    )
    with op.batch_alter_table("indicator_versions", schema=None) as batch_op:
        batch_op.create_index("ix_indicator_versions_date_added", ["date_added"], unique=True)
        batch_op.create_index(
            "ix_indicator_versions_stix_id", ["stix_id", "date_added"], unique=False
        )
        batch_op.create_index(
            "ix_indicator_versions_type_date_added", ["type", "date_added"], unique=False
        )
        batch_op.create_index(
            "uq_indicator_versions_current",
            ["type", "value"],
            unique=True,
            sqlite_where=sa.text("superseded_at IS NULL"),
            postgresql_where=sa.text("superseded_at IS NULL"),
        )

    op.create_table(
        "rate_counters",
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("window_start", sa.BigInteger(), nullable=False, comment="minute, epoch seconds"),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key_id", "window_start", name=op.f("pk_rate_counters")),
    )
    op.create_table(
        "taxii_statuses",
        sa.Column("status_id", sa.String(length=36), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False, comment="the TAXII status resource, JSON"),
        sa.PrimaryKeyConstraint("status_id", name=op.f("pk_taxii_statuses")),
    )
    op.create_table(
        "write_clock",
        sa.Column("id", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("last_date_added", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_write_clock")),
    )
    op.execute("INSERT INTO write_clock (id, last_date_added) VALUES (1, 0)")


def downgrade() -> None:
    op.drop_table("write_clock")
    op.drop_table("taxii_statuses")
    op.drop_table("rate_counters")
    with op.batch_alter_table("indicator_versions", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_indicator_versions_current",
            sqlite_where=sa.text("superseded_at IS NULL"),
            postgresql_where=sa.text("superseded_at IS NULL"),
        )
        batch_op.drop_index("ix_indicator_versions_type_date_added")
        batch_op.drop_index("ix_indicator_versions_stix_id")
        batch_op.drop_index("ix_indicator_versions_date_added")

    op.drop_table("indicator_versions")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_at")

    op.drop_table("audit_log")
    op.drop_table("api_keys")

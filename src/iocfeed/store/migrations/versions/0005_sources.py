"""Sources pulled on a schedule, their runs, and which source reported which indicator.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 17:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "sources",
        sa.Column("source_id", _ROW_ID, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("interval_seconds", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("credentials", sa.Text(), nullable=True, comment="JSON object; never returned"),
        sa.Column(
            "settings",
            sa.Text(),
            nullable=False,
            comment="JSON: defaults, type filter, columns",
        ),
        sa.Column("checkpoint", sa.Text(), nullable=False, comment="JSON object"),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("next_run", sa.BigInteger(), nullable=False),
        sa.Column("lease_until", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("source_id", name="pk_sources"),
    )
    op.create_index("uq_sources_name", "sources", ["name"], unique=True)
    op.create_table(
        "source_runs",
        sa.Column("run_id", _ROW_ID, primary_key=True, autoincrement=True),
        sa.Column("source_id", sa.BigInteger(), nullable=False),
        sa.Column("started", sa.BigInteger(), nullable=False),
        sa.Column("finished", sa.BigInteger(), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("added", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("revoked", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("run_id", name="pk_source_runs"),
    )
    op.create_index(
        "ix_source_runs_source_id_run_id", "source_runs", ["source_id", "run_id"], unique=False
    )
    op.create_table(
        "indicator_sources",
        sa.Column("source_id", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("first_seen", sa.BigInteger(), nullable=False),
        sa.Column("last_seen", sa.BigInteger(), nullable=False),
        sa.Column("last_run_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "missing_runs",
            sa.Integer(),
            nullable=False,
            comment="consecutive successful full-dump runs that did not list it",
        ),
        sa.PrimaryKeyConstraint("source_id", "type", "value", name="pk_indicator_sources"),
    )
    op.create_index(
        "ix_indicator_sources_type_value", "indicator_sources", ["type", "value"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_indicator_sources_type_value", table_name="indicator_sources")
    op.drop_table("indicator_sources")
    op.drop_index("ix_source_runs_source_id_run_id", table_name="source_runs")
    op.drop_table("source_runs")
    op.drop_index("uq_sources_name", table_name="sources")
    op.drop_table("sources")

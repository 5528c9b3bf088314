"""Push: webhooks and their deliveries, SIEM pushers (Microsoft Sentinel) and their runs.

Revision ID: 0010
Revises: 0006
Create Date: 2026-11-29 19:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None

_ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "webhooks",
        sa.Column("webhook_id", _ROW_ID, primary_key=True, autoincrement=True),
        sa.Column(
            "account_id", sa.BigInteger(), nullable=False, comment="the account it belongs to"
        ),
        sa.Column(
            "key_id", sa.String(32), nullable=False, comment="the key that made it (its grant)"
        ),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("events", sa.Text(), nullable=False, comment="JSON array of event kinds"),
        sa.Column("secret_salt", sa.String(64), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("disabled_reason", sa.Text(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False, comment="failed attempts in a row"),
        sa.Column(
            "position",
            sa.BigInteger(),
            nullable=False,
            comment="date_added of the last event taken",
        ),
        sa.Column("next_attempt", sa.BigInteger(), nullable=False),
        sa.Column("lease_until", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("webhook_id", name="pk_webhooks"),
    )
    op.create_index("ix_webhooks_account_id", "webhooks", ["account_id"], unique=False)
    op.create_table(
        "webhook_deliveries",
        sa.Column("delivery_id", _ROW_ID, primary_key=True, autoincrement=True),
        sa.Column("webhook_id", sa.BigInteger(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, comment="pending, delivered, abandoned"),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column(
            "payload",
            sa.Text(),
            nullable=False,
            comment="the JSON body sent, the same each attempt",
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_attempt", sa.BigInteger(), nullable=True),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("delivery_id", name="pk_webhook_deliveries"),
    )
    op.create_index(
        "ix_webhook_deliveries_webhook_id_delivery_id",
        "webhook_deliveries",
        ["webhook_id", "delivery_id"],
        unique=False,
    )
    op.create_table(
        "pushers",
        sa.Column("pusher_id", _ROW_ID, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column(
            "settings",
            sa.Text(),
            nullable=False,
            comment="JSON: tenant, client id, workspace, …",
        ),
        sa.Column("credentials", sa.Text(), nullable=False, comment="JSON object; never returned"),
        sa.Column("interval_seconds", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("checkpoint", sa.BigInteger(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("next_run", sa.BigInteger(), nullable=False),
        sa.Column("lease_until", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("pusher_id", name="pk_pushers"),
    )
    op.create_index("uq_pushers_name", "pushers", ["name"], unique=True)
    op.create_table(
        "pusher_runs",
        sa.Column("run_id", _ROW_ID, primary_key=True, autoincrement=True),
        sa.Column("pusher_id", sa.BigInteger(), nullable=False),
        sa.Column("started", sa.BigInteger(), nullable=False),
        sa.Column("finished", sa.BigInteger(), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("uploaded", sa.Integer(), nullable=False, comment="objects the SIEM accepted"),
        sa.Column("rejected", sa.Integer(), nullable=False, comment="objects the SIEM refused"),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("throttled", sa.Integer(), nullable=False, comment="answers 429"),
        sa.Column(
            "record_errors",
            sa.Text(),
            nullable=False,
            comment="JSON: the refused objects, why",
        ),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("run_id", name="pk_pusher_runs"),
    )
    op.create_index(
        "ix_pusher_runs_pusher_id_run_id",
        "pusher_runs",
        ["pusher_id", "run_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_pusher_runs_pusher_id_run_id", table_name="pusher_runs")
    op.drop_table("pusher_runs")
    op.drop_index("uq_pushers_name", table_name="pushers")
    op.drop_table("pushers")
    op.drop_index("ix_webhook_deliveries_webhook_id_delivery_id", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_index("ix_webhooks_account_id", table_name="webhooks")
    op.drop_table("webhooks")

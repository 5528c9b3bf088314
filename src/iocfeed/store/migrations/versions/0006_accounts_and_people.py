"""Accounts own the plan; keys belong to accounts and may be narrowed; people, their
sessions, sign-in failures and reset links; usage per account and day; TAXII polls.

Each existing key moves into an account of its own on the key's plan, named after the key
(``NAME (key id)`` when two keys share a name), so every key keeps working.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 19:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

_accounts = sa.table(
    "accounts",
    sa.column("account_id", sa.BigInteger),
    sa.column("name", sa.String),
    sa.column("plan", sa.String),
    sa.column("status", sa.String),
    sa.column("created", sa.BigInteger),
)
_keys = sa.table(
    "api_keys",
    sa.column("key_id", sa.String),
    sa.column("name", sa.Text),
    sa.column("plan", sa.String),
    sa.column("created", sa.BigInteger),
    sa.column("account_id", sa.BigInteger),
    sa.column("networks", sa.Text),
)


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("account_id", _ROW_ID, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("plan", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, comment="active or suspended"),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", name="pk_accounts"),
    )
    op.create_index("uq_accounts_name", "accounts", ["name"], unique=True)
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("account_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "scopes",
                sa.Text(),
                nullable=True,
                comment="JSON array narrowing the plan; NULL = all",
            )
        )
        batch_op.add_column(
            sa.Column(
                "max_tlp",
                sa.String(16),
                nullable=True,
                comment="narrowed highest TLP; NULL = plan's",
            )
        )
        batch_op.add_column(
            sa.Column(
                "networks",
                sa.Text(),
                nullable=True,
                comment="JSON array of allowed CIDRs; [] = any",
            )
        )
        batch_op.add_column(
            sa.Column(
                "device",
                sa.Boolean(),
                nullable=False,
                server_default=sa.false(),
                comment="may only read exports (and be sent as key=)",
            )
        )
        batch_op.add_column(
            sa.Column(
                "last_used",
                sa.BigInteger(),
                nullable=True,
                comment="batched, a few seconds late",
            )
        )
        batch_op.add_column(
            sa.Column(
                "last_address",
                sa.String(64),
                nullable=True,
                comment="client address of last use",
            )
        )
    _move_keys_into_accounts()
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.alter_column("account_id", existing_type=sa.BigInteger(), nullable=False)
        batch_op.alter_column(
            "networks",
            existing_type=sa.Text(),
            nullable=False,
            existing_comment="JSON array of allowed CIDRs; [] = any",
        )
        batch_op.drop_column("plan")
        batch_op.create_index("ix_api_keys_account_id", ["account_id"], unique=False)
    _create_people()
    _create_usage()
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "account_id",
                sa.BigInteger(),
                nullable=True,
                comment="the account acted on or for",
            )
        )
        batch_op.add_column(
            sa.Column(
                "user_id",
                sa.BigInteger(),
                nullable=True,
                comment="the person who acted, if signed in",
            )
        )
        batch_op.create_index("ix_audit_log_account_id_seq", ["account_id", "seq"], unique=False)


def _move_keys_into_accounts() -> None:
    """One account per existing key, on the key's plan, created when the key was."""
    connection = op.get_bind()
    taken: set[str] = set()
    rows = connection.execute(
        sa.select(_keys.c.key_id, _keys.c.name, _keys.c.plan, _keys.c.created).order_by(
            _keys.c.created, _keys.c.key_id
        )
    ).all()
    for key_id, name, plan, created in rows:
        account_name = name[:100] if name[:100] not in taken else f"{name[:100]} ({key_id})"
        taken.add(account_name)
        account_id = connection.execute(
            sa.insert(_accounts)
            .values(name=account_name, plan=plan, status="active", created=created)
            .returning(_accounts.c.account_id)
        ).scalar_one()
        connection.execute(
            sa.update(_keys)
            .where(_keys.c.key_id == key_id)
            .values(account_id=account_id, networks="[]")
        )


def _create_people() -> None:
    op.create_table(
        "users",
        sa.Column("user_id", _ROW_ID, primary_key=True, autoincrement=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False, comment="owner or member of the account"),
        sa.Column("site_role", sa.String(16), nullable=False, comment="admin, analyst or none"),
        sa.Column("totp_secret", sa.String(64), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_users"),
    )
    op.create_index("uq_users_email", "users", ["email"], unique=True)
    op.create_index("ix_users_account_id", "users", ["account_id"], unique=False)
    op.create_table(
        "user_sessions",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("last_seen", sa.BigInteger(), nullable=False),
        sa.Column("expires", sa.BigInteger(), nullable=False),
        sa.Column("client_address", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("token_hash", name="pk_user_sessions"),
    )
    op.create_index("ix_user_sessions_user_id", "user_sessions", ["user_id"], unique=False)
    op.create_table(
        "sign_in_failures",
        sa.Column("subject", sa.String(400), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure", sa.BigInteger(), nullable=False),
        sa.Column(
            "blocked_until",
            sa.BigInteger(),
            nullable=False,
            comment="no attempt before this time",
        ),
        sa.PrimaryKeyConstraint("subject", name="pk_sign_in_failures"),
    )
    op.create_table(
        "password_resets",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("expires", sa.BigInteger(), nullable=False),
        sa.Column("used", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("token_hash", name="pk_password_resets"),
    )


def _create_usage() -> None:
    op.create_table(
        "usage_daily",
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False, comment="UTC date as YYYYMMDD"),
        sa.Column("surface", sa.String(16), nullable=False),
        sa.Column("requests", sa.BigInteger(), nullable=False),
        sa.Column("objects", sa.BigInteger(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "day", "surface", name="pk_usage_daily"),
    )
    op.create_table(
        "taxii_polls",
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("collection_id", sa.String(64), nullable=False),
        sa.Column("polled", sa.BigInteger(), nullable=False),
        sa.Column("added_after", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("key_id", "collection_id", name="pk_taxii_polls"),
    )


def downgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_account_id_seq")
        batch_op.drop_column("user_id")
        batch_op.drop_column("account_id")
    for table in (
        "taxii_polls",
        "usage_daily",
        "password_resets",
        "sign_in_failures",
        "user_sessions",
        "users",
    ):
        op.drop_table(table)
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("plan", sa.String(64), nullable=True))
    connection = op.get_bind()
    connection.execute(
        sa.update(_keys).values(
            plan=sa.select(_accounts.c.plan)
            .where(_accounts.c.account_id == _keys.c.account_id)
            .scalar_subquery()
        )
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.alter_column("plan", existing_type=sa.String(64), nullable=False)
        batch_op.drop_index("ix_api_keys_account_id")
        for column in (
            "last_address",
            "last_used",
            "device",
            "networks",
            "max_tlp",
            "scopes",
            "account_id",
        ):
            batch_op.drop_column(column)
    op.drop_index("uq_accounts_name", table_name="accounts")
    op.drop_table("accounts")

"""Creating and upgrading the schema with Alembic, for SQLite and PostgreSQL alike."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from iocfeed.store.backfill import Progress, backfill_stored_json


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", "iocfeed.store:migrations")
    return config


def upgrade(engine: Engine, revision: str = "head", *, progress: Progress | None = None) -> None:
    """Bring the database to ``revision`` (creating every table on an empty database).

    At the head revision, versions stored before their JSON was stored get it filled in
    (``store.backfill``), reporting to ``progress``.
    """
    config = _config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    if revision == "head":
        backfill_stored_json(engine, progress=progress)


def downgrade(engine: Engine, revision: str) -> None:
    """Take the database back to ``revision`` (each migration's ``downgrade``)."""
    config = _config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_config()).get_current_head()

"""``iocfeed db``: create or migrate the store."""

from __future__ import annotations

import typer

from iocfeed.cli.context import err, settings
from iocfeed.store.engine import open_engine
from iocfeed.store.migrate import current_revision, upgrade

app = typer.Typer(help="Create or migrate the database named by IOCFEED_DATABASE_URL.")


@app.command("upgrade")
def upgrade_command(ctx: typer.Context) -> None:
    """Create the schema, or migrate it to the newest revision."""
    engine = open_engine(settings(ctx).database_url)
    try:
        upgrade(engine)
        err.print(f"database at revision {current_revision(engine)}")
    finally:
        engine.dispose()

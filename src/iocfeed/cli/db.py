"""``iocfeed db``: create or migrate the store."""

from __future__ import annotations

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from iocfeed.cli.context import err, settings
from iocfeed.store.engine import open_engine
from iocfeed.store.migrate import current_revision, upgrade

app = typer.Typer(help="Create or migrate the database named by IOCFEED_DATABASE_URL.")


@app.command("upgrade")
def upgrade_command(ctx: typer.Context) -> None:
    """Create the schema, or migrate it to the newest revision (with a progress bar while
    versions stored before their STIX JSON was stored get it)."""
    engine = open_engine(settings(ctx).database_url)
    filled = 0
    try:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        ) as bar:
            task = bar.add_task("storing each version's STIX JSON", total=None)

            def report(done: int, total: int) -> None:
                nonlocal filled
                filled = done
                bar.update(task, completed=done, total=total)

            upgrade(engine, progress=report)
        if filled:
            err.print(f"stored the STIX JSON of {filled} existing versions")
        err.print(f"database at revision {current_revision(engine)}")
    finally:
        engine.dispose()

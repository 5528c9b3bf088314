"""The ``iocfeed`` command: wires the command groups together."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from iocfeed import __version__
from iocfeed.cli import (
    accounts,
    db,
    demo,
    export,
    imports,
    keys,
    pushers,
    serve,
    sources,
    users,
    warninglists,
    worker,
)

app = typer.Typer(
    name="iocfeed",
    help="Self-hosted threat-intelligence feed: STIX 2.1, TAXII 2.1 and a JSON API.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(accounts.app, name="accounts")
app.add_typer(db.app, name="db")
app.add_typer(keys.app, name="keys")
app.add_typer(sources.app, name="sources")
app.add_typer(users.app, name="users")
app.add_typer(pushers.app, name="pushers")
app.add_typer(warninglists.app, name="warninglists")
app.registered_commands += imports.app.registered_commands
app.registered_commands += export.app.registered_commands
app.registered_commands += demo.app.registered_commands
app.registered_commands += serve.app.registered_commands
app.registered_commands += worker.app.registered_commands


def _version(value: bool) -> None:
    if value:
        print(f"iocfeed {__version__}")
        raise typer.Exit


@app.callback()
def main(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(envvar="IOCFEED_CONFIG", help="TOML settings file (env vars override it)."),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show version.")
    ] = False,
) -> None:
    """Settings come from IOCFEED_* environment variables and the optional config file."""
    ctx.obj = config

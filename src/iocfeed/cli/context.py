"""What every command needs: the settings and the services built from them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console

from iocfeed.config import Settings, load_settings
from iocfeed.errors import ConfigurationError, InvalidInput, IocfeedError
from iocfeed.services import Services, build_services

# Results go to stdout (so `keys create` prints the key alone); everything else to stderr.
out = Console()
err = Console(stderr=True)


def settings(ctx: typer.Context) -> Settings:
    """Settings from the config file given to the top-level command (in ``ctx.obj``)."""
    config_file: Path | None = ctx.find_root().obj
    try:
        return load_settings(config_file)
    except ConfigurationError as error:
        err.print(f"[red]error:[/red] {error.message}")
        raise typer.Exit(2) from error


def services(ctx: typer.Context) -> Services:
    """The services, on a database migrated to the latest schema."""
    from iocfeed.store.migrate import upgrade

    built = build_services(settings(ctx))
    ctx.call_on_close(built.close)
    upgrade(built.engine)
    return built


def fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(code)


@contextmanager
def exit_on_error(code: int = 1) -> Iterator[None]:
    """An iocfeed error inside ends the command with its message: exit 2 for a refused
    option value (``InvalidInput``), else ``code``."""
    try:
        yield
    except InvalidInput as error:
        option = f"--{error.parameter.replace('_', '-')}: " if error.parameter else ""
        raise fail(f"{option}{error.message}", 2) from error
    except IocfeedError as error:
        raise fail(error.message, code) from error

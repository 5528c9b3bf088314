"""``iocfeed warninglists``: the false-positive lists, their policies, and checking a value."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from iocfeed.cli.context import fail, out, services
from iocfeed.errors import InvalidIndicator, InvalidQuery, NotFound
from iocfeed.warninglists import parse_policy

app = typer.Typer(
    help="False-positive lists (MISP warninglists and your own): block, flag, allow or off."
)


@app.command("list")
def list_lists(
    ctx: typer.Context,
    enabled: Annotated[
        bool, typer.Option("--enabled", help="Only lists whose policy is not off.")
    ] = False,
) -> None:
    """List every list with its policy (and the default it started with)."""
    built = services(ctx)
    table = Table("name", "origin", "policy", "default", "entries", "title")
    for info in built.warninglists.lists():
        if enabled and info.policy.value == "off":
            continue
        table.add_row(
            info.name,
            info.origin.value,
            info.policy.value,
            info.default_policy.value,
            str(info.entries),
            info.title,
        )
    out.print(table)


@app.command("check")
def check(
    ctx: typer.Context,
    value: Annotated[str, typer.Argument(help="Any indicator, defanged or not.")],
    type: Annotated[
        str | None, typer.Option("--type", help="Its type, when it cannot be told.")
    ] = None,
) -> None:
    """Say which lists a value is on and what ingest would do with it."""
    built = services(ctx)
    try:
        result = built.warninglists.check(value, type)
    except (InvalidIndicator, InvalidQuery) as error:
        raise fail(error.message, 2) from error
    verdict = result.verdict
    out.print(f"{result.type.value} {result.value}: {result.action}", highlight=False)
    if verdict.blocked_by:
        out.print(f"  blocked by {verdict.blocked_by}", highlight=False)
    for name in verdict.flagged_by:
        out.print(f"  flagged by {name}", highlight=False)
    for name in verdict.allowed_by:
        out.print(f"  allowed by {name}", highlight=False)
    if not verdict.matched:
        out.print("  on no enabled list", highlight=False)


@app.command("set")
def set_policy(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A list name from `warninglists list`.")],
    policy: Annotated[str, typer.Argument(help="block, flag, allow or off.")],
) -> None:
    """Set a list's policy; the worker then re-checks stored indicators."""
    built = services(ctx)
    try:
        info = built.warninglists.set_policy(name, parse_policy(policy), key_id=None)
    except InvalidQuery as error:
        raise fail(error.message, 2) from error
    except NotFound as error:
        raise fail(error.message) from error
    out.print(f"{info.name}: {info.policy.value}", highlight=False)


@app.command("save")
def save(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Your list's name (not a MISP list's).")],
    entries: Annotated[
        list[str],
        typer.Argument(
            help="Addresses or CIDRs; domains (each also matches every name under it); "
            "anything else (hashes, URLs, e-mail addresses) matches exactly."
        ),
    ],
    policy: Annotated[str, typer.Option(help="block, flag, allow or off.")] = "block",
    description: Annotated[str, typer.Option(help="What the list is for.")] = "",
) -> None:
    """Create or replace one of your own lists; the worker then re-checks stored indicators."""
    built = services(ctx)
    try:
        info = built.warninglists.save_operator_list(
            name, entries, parse_policy(policy), description=description, key_id=None
        )
    except InvalidQuery as error:
        raise fail(error.message, 2) from error
    out.print(f"{info.name}: {info.policy.value}, {info.entries} entries", highlight=False)

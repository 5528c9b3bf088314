"""``iocfeed keys``: create, list and revoke API keys."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from iocfeed.auth.keys import expiry_problem
from iocfeed.cli.context import fail, out, services
from iocfeed.errors import NotFound

app = typer.Typer(help="Manage API keys (the secret is shown once, at creation).")


def _expiry(text: str | None, now: datetime) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise fail(f"--expires must be an ISO 8601 date or time, got {text!r}", 2) from error
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if problem := expiry_problem(moment, now):
        raise fail(f"--{problem}", 2)
    return moment


@app.command("create")
def create(
    ctx: typer.Context,
    plan: Annotated[str, typer.Option(help="Plan name: free, pro, enterprise or admin.")],
    name: Annotated[str, typer.Option(help="Who or what the key is for.")],
    expires: Annotated[str | None, typer.Option(help="Expiry, ISO 8601 (e.g. 2027-01-01).")] = None,
) -> None:
    """Create a key and print it, alone, on stdout."""
    built = services(ctx)
    if plan not in built.settings.plans:
        raise fail(f"unknown plan {plan!r}; plans: {', '.join(built.settings.plans)}", 2)
    now = built.clock.now()
    _, plaintext = built.keys.create(name=name, plan=plan, now=now, expires=_expiry(expires, now))
    print(plaintext)


@app.command("list")
def list_keys(ctx: typer.Context) -> None:
    """List keys (never their secrets)."""
    built = services(ctx)
    now = built.clock.now()
    table = Table("key id", "name", "plan", "created", "expires", "state")
    for key in built.keys.list():
        state = "revoked" if key.revoked else ("active" if key.is_usable(now) else "expired")
        table.add_row(
            key.key_id,
            key.name,
            key.plan,
            key.created.isoformat(timespec="seconds"),
            key.expires.isoformat(timespec="seconds") if key.expires else "never",
            state,
        )
    out.print(table)


@app.command("revoke")
def revoke(
    ctx: typer.Context,
    key_id: Annotated[str, typer.Argument(help="The key id shown by `keys list`.")],
) -> None:
    """Revoke a key at once; requests with it get 401 from then on."""
    built = services(ctx)
    try:
        key = built.keys.revoke(key_id, built.clock.now())
    except NotFound as error:
        raise fail(error.message) from error
    out.print(f"revoked {key.key_id} ({key.name})")

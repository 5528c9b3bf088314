"""``iocfeed accounts``: create, list, set-plan, suspend and activate accounts."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from iocfeed.cli.context import exit_on_error, out, services
from iocfeed.portal.actors import OPERATOR

app = typer.Typer(help="Accounts (subscribing organisations): each owns a plan and its keys.")

Name = Annotated[str, typer.Argument(help="The account's name.")]


@app.command("create")
def create(
    ctx: typer.Context,
    name: Name,
    plan: Annotated[str, typer.Option(help="Plan name: free, pro, enterprise or admin.")],
) -> None:
    """Create an active account on a plan."""
    built = services(ctx)
    with exit_on_error():
        account = built.accounts.create(name, plan, OPERATOR)
    out.print(f"created account {account.name} on the {account.plan} plan")


@app.command("list")
def list_accounts(ctx: typer.Context) -> None:
    """List accounts by name, with their plan, status and number of active keys."""
    built = services(ctx)
    now = built.clock.now()
    table = Table("name", "plan", "status", "active keys", "created")
    after: str | None = None
    while page := built.accounts.list_accounts(after=after, limit=500):
        for account in page:
            keys = built.accounts.list_keys(account.account_id)
            table.add_row(
                account.name,
                account.plan,
                account.status.value,
                str(sum(key.is_usable(now) for key in keys)),
                account.created.isoformat(timespec="seconds"),
            )
        after = page[-1].name
    out.print(table)


@app.command("set-plan")
def set_plan(
    ctx: typer.Context,
    name: Name,
    plan: Annotated[str, typer.Option(help="The new plan.")],
) -> None:
    """Move an account to another plan; its keys get it on their next request."""
    built = services(ctx)
    with exit_on_error():
        account = built.accounts.set_plan(built.accounts.named(name).account_id, plan, OPERATOR)
    out.print(f"{account.name} is now on the {account.plan} plan")


@app.command("suspend")
def suspend(ctx: typer.Context, name: Name) -> None:
    """Suspend an account: its keys get 403 and its people cannot sign in, at once."""
    built = services(ctx)
    with exit_on_error():
        account = built.accounts.suspend(built.accounts.named(name).account_id, OPERATOR)
    out.print(f"suspended {account.name}")


@app.command("activate")
def activate(ctx: typer.Context, name: Name) -> None:
    """Reactivate a suspended account."""
    built = services(ctx)
    with exit_on_error():
        account = built.accounts.activate(built.accounts.named(name).account_id, OPERATOR)
    out.print(f"activated {account.name}")


app.command("unsuspend", help="Reactivate a suspended account (same as activate).")(activate)

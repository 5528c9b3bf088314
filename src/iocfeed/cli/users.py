"""``iocfeed users``: people who sign in to the pages (create, list, reset, disable, enable).

``create`` reads the password from stdin (one line), so it never shows in the process list
or the shell history: ``printf '%s\\n' "$PASSWORD" | iocfeed users create …``.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from iocfeed.accounts.people import Role, SiteRole
from iocfeed.cli.context import exit_on_error, fail, out, services
from iocfeed.portal.actors import OPERATOR
from iocfeed.services import Services

app = typer.Typer(help="People who sign in to the web pages.")

Email = Annotated[str, typer.Argument(help="The person's e-mail address.")]


@app.command("create")
def create(
    ctx: typer.Context,
    email: Email,
    account: Annotated[str, typer.Option(help="The name of the account the person joins.")],
    role: Annotated[Role, typer.Option(help="Role in the account.")] = Role.MEMBER,
    site_role: Annotated[
        SiteRole, typer.Option(help="Role on the service: admin runs it, analyst curates.")
    ] = SiteRole.NONE,
) -> None:
    """Create a person; the password is read from stdin."""
    password = typer.get_text_stream("stdin").readline().rstrip("\r\n")
    if not password:
        raise fail("give the password on stdin (one line)", 2)
    built = services(ctx)
    with exit_on_error():
        account_id = built.accounts.named(account).account_id
        user = built.people.create_user(
            email, password, account_id, role=role, site_role=site_role, actor=OPERATOR
        )
    out.print(f"created {user.email} in {account} ({user.role}, site role {user.site_role})")


@app.command("list")
def list_users(
    ctx: typer.Context,
    account: Annotated[str | None, typer.Option(help="Only this account's people.")] = None,
) -> None:
    """List people by e-mail."""
    built = services(ctx)
    with exit_on_error():
        account_id = built.accounts.named(account).account_id if account else None
    names = _account_names(built)
    table = Table("e-mail", "account", "role", "site role", "state")
    after: str | None = None
    while page := built.people.list_users(account_id=account_id, after=after, limit=500):
        for user in page:
            table.add_row(
                user.email,
                names.get(user.account_id, str(user.account_id)),
                user.role.value,
                user.site_role.value,
                ("disabled" if user.disabled else "active")
                + (", TOTP" if user.totp_enabled else ""),
            )
        after = page[-1].email
    out.print(table)


def _account_names(built: Services) -> dict[int, str]:
    names: dict[int, str] = {}
    after: str | None = None
    while page := built.accounts.list_accounts(after=after, limit=500):
        names.update((account.account_id, account.name) for account in page)
        after = page[-1].name
    return names


@app.command("reset")
def reset(ctx: typer.Context, email: Email) -> None:
    """Print a one-time password reset link for the person (give it to them yourself)."""
    built = services(ctx)
    with exit_on_error():
        path = built.people.create_reset_link(built.people.user_by_email(email).user_id, OPERATOR)
    base = (built.settings.public_url or "").rstrip("/")
    print(f"{base}{path}")


@app.command("disable")
def disable(ctx: typer.Context, email: Email) -> None:
    """Disable a person: their sessions end and they cannot sign in."""
    built = services(ctx)
    with exit_on_error():
        user = built.people.set_disabled(built.people.user_by_email(email).user_id, True, OPERATOR)
    out.print(f"disabled {user.email}")


@app.command("enable")
def enable(ctx: typer.Context, email: Email) -> None:
    """Enable a disabled person again."""
    built = services(ctx)
    with exit_on_error():
        user = built.people.set_disabled(built.people.user_by_email(email).user_id, False, OPERATOR)
    out.print(f"enabled {user.email}")

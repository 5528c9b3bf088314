"""``iocfeed keys``: create, list, narrow and revoke API keys.

``keys create --account NAME`` makes a key of that account; ``keys create --plan PLAN``
(the quick start) puts the key in the account named after the key when that account is on
the plan, else in a new account on the plan (``NAME (2)``, …). Either way the key alone is
printed on stdout.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from iocfeed.accounts.model import Narrowing
from iocfeed.cli.context import exit_on_error, fail, out, services
from iocfeed.indicators.model import Tlp
from iocfeed.portal.actors import OPERATOR

app = typer.Typer(help="Manage API keys (the secret is shown once, at creation).")

Scopes = Annotated[
    list[str] | None,
    typer.Option("--scope", help="Narrow to this scope (repeatable); default: the plan's."),
]
MaxTlp = Annotated[
    Tlp | None, typer.Option("--max-tlp", help="Narrow the highest TLP the key receives.")
]
Expires = Annotated[str | None, typer.Option(help="Expiry, ISO 8601 (e.g. 2027-01-01).")]
Networks = Annotated[
    list[str] | None,
    typer.Option("--network", help="Allowed client network, CIDR (repeatable); default: any."),
]
Device = Annotated[bool, typer.Option("--device", help="A device key: it may only read exports.")]


def _expiry(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise fail(f"--expires must be an ISO 8601 date or time, got {text!r}", 2) from error
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _narrowing(
    scopes: list[str] | None,
    max_tlp: Tlp | None,
    expires: str | None,
    networks: list[str] | None,
    device: bool,
) -> Narrowing:
    return Narrowing(
        scopes=frozenset(scopes) if scopes else None,
        max_tlp=max_tlp,
        expires=_expiry(expires),
        networks=tuple(networks or ()),
        device=device,
    )


@app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option(help="Who or what the key is for.")],
    account: Annotated[str | None, typer.Option(help="The account the key belongs to.")] = None,
    plan: Annotated[
        str | None,
        typer.Option(help="Instead of --account: a plan (the key's account is named after it)."),
    ] = None,
    scope: Scopes = None,
    max_tlp: MaxTlp = None,
    expires: Expires = None,
    network: Networks = None,
    device: Device = False,
) -> None:
    """Create a key and print it, alone, on stdout."""
    if (account is None) == (plan is None):
        raise fail("give one of --account NAME and --plan PLAN", 2)
    built = services(ctx)
    narrowing = _narrowing(scope, max_tlp, expires, network, device)
    with exit_on_error():
        if account is not None:
            account_id = built.accounts.named(account).account_id
            created = built.accounts.create_key(account_id, name, OPERATOR, narrowing)
        else:
            assert plan is not None
            created = built.accounts.create_key_on_plan(name, plan, OPERATOR, narrowing)
    print(created.plaintext)


@app.command("narrow")
def narrow(
    ctx: typer.Context,
    key_id: Annotated[str, typer.Argument(help="The key id shown by `keys list`.")],
    scope: Scopes = None,
    max_tlp: MaxTlp = None,
    expires: Expires = None,
    network: Networks = None,
    device: Device = False,
) -> None:
    """Replace a key's narrowing (what is not given is not narrowed); never past the plan."""
    built = services(ctx)
    narrowing = _narrowing(scope, max_tlp, expires, network, device)
    with exit_on_error():
        key = built.accounts.narrow_key(key_id, narrowing, OPERATOR)
    out.print(f"narrowed {key.key_id} ({key.name})")


@app.command("list")
def list_keys(
    ctx: typer.Context,
    account: Annotated[str | None, typer.Option(help="Only this account's keys.")] = None,
) -> None:
    """List keys (never their secrets), with their account and last use."""
    built = services(ctx)
    now = built.clock.now()
    with exit_on_error():
        account_id = built.accounts.named(account).account_id if account else None
    table = Table("key id", "name", "account (plan)", "narrowed", "last used", "state")
    for key in built.accounts.list_keys(account_id):
        state = "revoked" if key.revoked else ("active" if key.is_usable(now) else "expired")
        table.add_row(
            key.key_id,
            key.name,
            f"{key.account_name} ({key.plan})",
            _describe(key.narrowing),
            f"{key.last_used.isoformat(timespec='seconds')} from {key.last_address or '?'}"
            if key.last_used
            else "never",
            state,
        )
    out.print(table)


def _describe(narrowing: Narrowing) -> str:
    parts = []
    if narrowing.scopes is not None:
        parts.append(" ".join(sorted(narrowing.scopes)))
    if narrowing.max_tlp is not None:
        parts.append(f"≤ TLP:{narrowing.max_tlp.value.upper()}")
    if narrowing.networks:
        parts.append("from " + " ".join(narrowing.networks))
    if narrowing.expires is not None:
        parts.append(f"until {narrowing.expires.isoformat(timespec='seconds')}")
    if narrowing.device:
        parts.append("device")
    return ", ".join(parts) or "-"


@app.command("revoke")
def revoke(
    ctx: typer.Context,
    key_id: Annotated[str, typer.Argument(help="The key id shown by `keys list`.")],
) -> None:
    """Revoke a key at once; requests with it get 401 from then on."""
    built = services(ctx)
    with exit_on_error():
        key = built.accounts.revoke_key(key_id, OPERATOR)
    out.print(f"revoked {key.key_id} ({key.name})")

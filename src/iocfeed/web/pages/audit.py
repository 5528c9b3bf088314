"""``/admin/audit``: the audit trail, newest first, filtered by account, key, action and
time, keyset-paged on the record's sequence number (``before``)."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from iocfeed.errors import InvalidQuery
from iocfeed.parameters import parse_time
from iocfeed.store.audit import AuditFilter, AuditRecord
from iocfeed.web.auth import services
from iocfeed.web.pages.rendering import render
from iocfeed.web.pages.viewer import SiteAdmin

router = APIRouter(include_in_schema=False)

PAGE = 100


def _blank(text: str | None) -> str | None:
    return text.strip()[:200] if text and text.strip() else None


def _number(text: str | None, parameter: str) -> int | None:
    if not text or not text.strip():
        return None
    if not text.strip().isdigit():
        raise InvalidQuery(f"{parameter} must be an account id", parameter=parameter)
    return int(text)


@router.get("/admin/audit", response_class=HTMLResponse)
def audit(
    request: Request,
    viewer: SiteAdmin,
    *,
    account: str | None = None,
    key: str | None = None,
    action: str | None = None,
    since: str | None = None,
    until: str | None = None,
    before: int | None = None,
) -> HTMLResponse:
    built = services(request)
    problem = None
    records: list[AuditRecord] = []
    try:
        wanted = AuditFilter(
            account_id=_number(account, "account"),
            key_id=_blank(key),
            action=_blank(action),
            since=parse_time(_blank(since), "since"),
            until=parse_time(_blank(until), "until"),
        )
        records = built.audit.query(wanted, before=before, limit=PAGE + 1)
    except InvalidQuery as refused:
        problem = refused.message
    accounts = built.accounts.list_accounts(limit=1000)
    shown = records[:PAGE]
    filters = {
        "account": account if account and account.isdigit() else None,
        "key": _blank(key) or "",
        "action": _blank(action) or "",
        "since": _blank(since) or "",
        "until": _blank(until) or "",
    }
    return render(
        request,
        "admin_audit.html",
        {
            "records": shown,
            "older": urlencode(
                {
                    **{k: v for k, v in filters.items() if v not in (None, "")},
                    "before": shown[-1].seq,
                }
            )
            if len(records) > PAGE
            else None,
            "accounts": accounts,
            "account_names": {item.account_id: item.name for item in accounts},
            "filters": filters,
            "problem": problem,
        },
        viewer=viewer,
        section="admin",
        status_code=400 if problem else 200,
    )

"""Microsoft Sentinel's STIX objects upload API: its URLs, bodies and per-record errors.

- Token: Entra ID client credentials, ``POST {login}/{tenant}/oauth2/v2.0/token`` with the
  scope ``https://management.azure.com/.default``.
- Upload: ``POST {api}/workspaces/{workspace}/threat-intelligence-stix-objects:upload
  ?api-version=2024-02-01-preview`` with ``{"sourcesystem": …, "stixobjects": […]}``, at
  most 100 objects per request and 100 requests per minute; over the rate, 429
  ``{"statusCode": 429, "message": "Rate limit is exceeded. Try again in <n> seconds."}``.
- Answer: 200 with an empty body when every object was taken; 200 with
  ``{"errors": [{"recordIndex": 3, "errorMessages": ["…"]}]}`` (0-based indexes into the
  request's array) when some were refused.

(MicrosoftDocs/azure-docs ``articles/sentinel/stix-objects-api.md``; the path is the
hyphenated ``threat-intelligence-stix-objects``, which the API documents.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from iocfeed.push.model import RecordError

OBJECTS_PER_REQUEST = 100
API_VERSION = "2024-02-01-preview"
TOKEN_SCOPE = "https://management.azure.com/.default"  # noqa: S105 (an OAuth2 scope)
RESERVED_SOURCE = "Microsoft Sentinel"


def token_url(login_base: str, tenant_id: str) -> str:
    return f"{login_base.rstrip('/')}/{quote(tenant_id, safe='')}/oauth2/v2.0/token"


def token_form(client_id: str, client_secret: str) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_id": client_id,
        "client_secret": client_secret,
        "scope": TOKEN_SCOPE,
    }


def upload_url(api_base: str, workspace_id: str) -> str:
    workspace = quote(workspace_id, safe="")
    return (
        f"{api_base.rstrip('/')}/workspaces/{workspace}/threat-intelligence-stix-objects:upload"
        f"?api-version={API_VERSION}"
    )


def upload_body(source_system: str, objects: Sequence[dict[str, Any]]) -> dict[str, Any]:
    if len(objects) > OBJECTS_PER_REQUEST:
        raise ValueError(f"at most {OBJECTS_PER_REQUEST} objects per request")
    return {"sourcesystem": source_system, "stixobjects": list(objects)}


def record_errors(answer: Any, objects: Sequence[dict[str, Any]]) -> list[RecordError]:
    """The objects an upload answer refused, each with its messages; an index outside the
    request is reported as such rather than dropped."""
    if not isinstance(answer, dict) or not isinstance(answer.get("errors"), list):
        return []
    found = []
    for entry in answer["errors"]:
        if not isinstance(entry, dict):
            continue
        index = entry.get("recordIndex")
        messages = entry.get("errorMessages")
        texts = tuple(str(m) for m in messages) if isinstance(messages, list) else ()
        if isinstance(index, int) and 0 <= index < len(objects):
            object_id = str(objects[index].get("id", f"record {index}"))
        else:
            object_id = f"record {index!r} (not in the request)"
        found.append(RecordError(object_id, texts or ("no message",)))
    return found


def check_source_system(name: str) -> str:
    """The ``sourcesystem`` name; Sentinel reserves its own."""
    cleaned = name.strip()
    if not cleaned or len(cleaned) > 64:
        raise ValueError("source_system must be 1 to 64 characters")
    if cleaned.lower() == RESERVED_SOURCE.lower():
        raise ValueError(f"{RESERVED_SOURCE!r} is reserved by Sentinel")
    return cleaned

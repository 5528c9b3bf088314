"""Every error response, built in one place: one JSON shape for REST, the TAXII error resource
under ``/taxii2/``. One table maps each exception of ``iocfeed.errors`` to a status code.

REST error body::

    {"status": 400, "error": "invalid_query", "message": "limit must be ...", "parameter": "limit"}

No traceback or internal detail ever reaches a client: unexpected exceptions are logged and
answered with a generic 500.
"""

from __future__ import annotations

import logging
import uuid
from http import HTTPStatus
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from iocfeed.errors import (
    AccountSuspended,
    BodyTooLarge,
    ConfigurationError,
    Conflict,
    DependencyUnavailable,
    Forbidden,
    InvalidIndicator,
    InvalidInput,
    InvalidQuery,
    IocfeedError,
    LimitExceeded,
    NetworkRefused,
    NotAcceptable,
    NotFound,
    RateLimited,
    SecondFactorNeeded,
    SignInLocked,
    SignInRefused,
    SourceFailed,
    Unauthenticated,
    UnsupportedMediaType,
)
from iocfeed.taxii import resources as taxii_resources
from iocfeed.taxii.media import TAXII_MEDIA_TYPE

log = logging.getLogger("iocfeed.errors")

# exception class → (HTTP status, machine-readable code). Most specific classes first.
STATUS: tuple[tuple[type[IocfeedError], int, str], ...] = (
    (BodyTooLarge, 413, "body_too_large"),
    (LimitExceeded, 400, "limit_exceeded"),
    (InvalidQuery, 400, "invalid_query"),
    (InvalidIndicator, 422, "invalid_indicator"),
    (InvalidInput, 422, "invalid_input"),
    (Unauthenticated, 401, "unauthenticated"),
    (AccountSuspended, 403, "account_suspended"),
    (NetworkRefused, 403, "network_refused"),
    (Forbidden, 403, "forbidden"),
    (SignInLocked, 429, "sign_in_locked"),
    (SecondFactorNeeded, 401, "second_factor_needed"),
    (SignInRefused, 401, "sign_in_refused"),
    (NotFound, 404, "not_found"),
    (Conflict, 409, "conflict"),
    (NotAcceptable, 406, "not_acceptable"),
    (UnsupportedMediaType, 415, "unsupported_media_type"),
    (RateLimited, 429, "rate_limited"),
    (DependencyUnavailable, 503, "dependency_unavailable"),
    (SourceFailed, 502, "source_failed"),
    (ConfigurationError, 500, "configuration_error"),
)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
}

AUTHENTICATE = 'Basic realm="iocfeed", charset="UTF-8"'


def _is_taxii(request: Request) -> bool:
    # Behind a proxy prefix (root path) the path starts with the prefix.
    return request.url.path.removeprefix(request.scope.get("root_path", "")).startswith("/taxii2")


def error_response(
    request: Request,
    status: int,
    code: str,
    message: str,
    *,
    parameter: str | None = None,
    details: Any = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """The one place an error body is made."""
    headers = dict(headers or {})
    if status == 401:
        headers.setdefault("WWW-Authenticate", AUTHENTICATE)
    if _is_taxii(request):
        body: dict[str, Any] = taxii_resources.error(
            title=HTTPStatus(status).phrase,
            description=message,
            http_status=status,
            error_code=code,
            error_id=str(uuid.uuid4()),
            details={"parameter": parameter, **({"errors": details} if details else {})}
            if parameter or details
            else None,
        )
        media_type = TAXII_MEDIA_TYPE
    else:
        body = {"status": status, "error": code, "message": message}
        if parameter is not None:
            body["parameter"] = parameter
        if details is not None:
            body["details"] = details
        media_type = "application/json"
    return Response(orjson.dumps(body), status_code=status, media_type=media_type, headers=headers)


def _for_domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, IocfeedError)
    status, code = next((s, c) for cls, s, c in STATUS if isinstance(exc, cls))
    headers: dict[str, str] = {}
    if isinstance(exc, SignInLocked):
        headers = {"Retry-After": str(exc.retry_after)}
    if isinstance(exc, RateLimited):
        headers = {
            "Retry-After": str(exc.retry_after),
            "RateLimit-Limit": str(exc.limit),
            "RateLimit-Remaining": "0",
            "RateLimit-Reset": str(exc.retry_after),
            "X-RateLimit-Limit": str(exc.limit),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(exc.retry_after),
        }
    if isinstance(exc, DependencyUnavailable):
        headers = {"Retry-After": str(exc.retry_after)}
        log.warning("%s %s: %s", request.method, request.url.path, exc.message)
    elif status >= 500:
        log.error("server misconfiguration: %s", exc.message)
    return error_response(
        request,
        status,
        code,
        exc.message,
        parameter=getattr(exc, "parameter", None),
        headers=headers,
    )


def _for_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = [
        {
            "location": ".".join(str(part) for part in error["loc"]),
            "message": error["msg"],
        }
        for error in exc.errors()
    ]
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
    location = [str(part) for part in first["loc"]]
    parameter = location[-1] if location else None
    message = f"{parameter}: {first['msg']}" if parameter else str(first["msg"])
    return error_response(
        request, 422, "invalid_request", message, parameter=parameter, details=problems
    )


def _for_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    if exc.status_code == 404 and message == "Not Found":
        message = f"No such endpoint: {request.url.path}"
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = allowed_methods(request)
    return error_response(request, exc.status_code, code, message, headers=headers)


def allowed_methods(request: Request) -> str:
    """Every method some route of this path answers (a path may have one route per method,
    and Starlette names only the first route's in its 405)."""
    allowed = [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL
            for route in request.app.router.routes
        )
    ]
    return ", ".join(allowed)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _for_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(request, 500, "internal_error", "Internal server error")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(IocfeedError, _for_domain_error)
    app.add_exception_handler(RequestValidationError, _for_validation_error)
    app.add_exception_handler(StarletteHTTPException, _for_http_error)
    app.add_exception_handler(Exception, _for_unexpected)

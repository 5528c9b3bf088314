"""REST request parsing: search filters into one ``IndicatorQuery``, cursors, and upsert bodies.

Rule for errors: a value of the wrong kind for its declared type (``limit=abc``) is rejected
by request validation (422); a value of the right kind that cannot be used (an unknown IOC
type, an unreadable time, a limit over the cap, a damaged cursor) raises
:class:`~iocfeed.errors.InvalidQuery` or :class:`~iocfeed.errors.LimitExceeded` naming the
parameter (400). A body that is not JSON or not an array of objects is 422.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import orjson
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from iocfeed.errors import InvalidIndicator, InvalidQuery
from iocfeed.formats.jsonrecord import json_kind
from iocfeed.indicators.attack import canonical_technique_id
from iocfeed.indicators.cursor import CursorCodec, Endpoint, Resume, Scope
from iocfeed.indicators.model import Confidence, Tlp
from iocfeed.indicators.query import IndicatorQuery, Status, clamp_to_lookback
from iocfeed.parameters import parse_time, parse_types, split_values

DEFAULT_LIMIT = 100
CURSOR = "next"

CONFIDENCE_NAMES = ", ".join(level.value for level in Confidence)


def parse_confidences(values: Sequence[str] | None) -> frozenset[Confidence]:
    names = split_values(values)
    if values is not None and not names:
        raise InvalidQuery(
            f"confidence is empty: give one or more of {CONFIDENCE_NAMES}, or leave it out",
            parameter="confidence",
        )
    chosen: set[Confidence] = set()
    for name in names:
        try:
            chosen.add(Confidence(name.lower()))
        except ValueError:
            raise InvalidQuery(
                f"confidence must be one of {CONFIDENCE_NAMES}, got {name[:64]!r}",
                parameter="confidence",
            ) from None
    return frozenset(chosen)


def parse_technique(raw: str | None) -> str | None:
    if raw is None or not raw.strip():
        return None
    try:
        return canonical_technique_id(raw)
    except InvalidIndicator as error:
        raise InvalidQuery(error.message, parameter="technique") from None


def _text(raw: str | None, parameter: str) -> str | None:
    """A free-text filter, stripped; ``None`` when blank. NUL cannot be stored, so it cannot
    match either (and PostgreSQL refuses it even in a query)."""
    if raw is None or not raw.strip():
        return None
    if "\x00" in raw:
        raise InvalidQuery(f"{parameter} must not contain NUL (%00)", parameter=parameter)
    return raw.strip()


def search_query(
    *,
    types: Sequence[str] | None,
    since: str | None,
    until: str | None,
    confidence: Sequence[str] | None,
    tag: str | None,
    technique: str | None,
    source: str | None,
    q: str | None,
    status: Status | None,
    max_tlp: Tlp,
    lookback_start: datetime | None,
) -> tuple[IndicatorQuery, datetime | None]:
    """The query the filters of ``GET /iocs`` ask for, and its effective lower time bound.

    ``since`` is clamped to the plan's lookback (SPEC §4); the later bound wins.
    """
    asked_since = parse_time(since, "since")
    asked_until = parse_time(until, "until")
    if asked_since is not None and asked_until is not None and asked_until < asked_since:
        raise InvalidQuery("until is earlier than since", parameter="until")
    effective_since = clamp_to_lookback(asked_since, lookback_start)
    tag_text = _text(tag, "tag")
    source_text = _text(source, "source")
    query = IndicatorQuery(
        types=parse_types(types),
        modified_since=effective_since,
        modified_until=asked_until,
        confidences=parse_confidences(confidence),
        tag=tag_text.lower() if tag_text is not None else None,
        technique=parse_technique(technique),
        sources=frozenset({source_text}) if source_text is not None else frozenset(),
        text=_text(q, "q"),
        status=status,
        max_tlp=max_tlp,
    )
    return query, effective_since


def search_scope(key_id: str, filters: Mapping[str, str | Sequence[str] | None]) -> Scope:
    """Where a search's tokens are valid: this key and these filters (``limit`` aside).

    List parameters count by their values, in any order and spelling (repeated or comma
    separated); the others by their text.
    """
    chosen = {
        name: split_values(value) if not isinstance(value, str) else [value]
        for name, value in filters.items()
        if value is not None
    }
    return Scope(key_id=key_id, endpoint=Endpoint.SEARCH, filters=chosen)


def parse_cursor(token: str | None, tokens: CursorCodec, scope: Scope) -> Resume:
    """Where a walk resumes and the snapshot it sees (both ``None`` on a first page)."""
    return tokens.resume(token or None, scope)


def json_items(body: bytes, *, member: str, what: str) -> list[object]:
    """The items of a JSON body: an array, or an object holding it under ``member``.
    Anything else is a 422 naming the body and ``what`` the items should be."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise body_error(
            f"not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from None
    if isinstance(document, dict) and member in document:
        document = document[member]
    if not isinstance(document, list):
        raise body_error(
            f"expected a JSON array of {what} or an object with a `{member}` array, got "
            f"{json_kind(document)}"
        )
    return document


def upsert_items(body: bytes) -> list[object]:
    """The items of a ``POST /iocs`` body (:func:`json_items` under ``indicators``)."""
    return json_items(body, member="indicators", what="indicator objects")


def body_error(message: str, *field: str) -> RequestValidationError:
    """A 422 about the request body (or one of its ``field``s), in request validation's form."""
    return RequestValidationError(
        [{"type": "invalid_body", "loc": ("body", *field), "msg": message, "input": None}]
    )


def invalid_body(error: ValidationError) -> RequestValidationError:
    """pydantic's complaints about a body model, as a 422 naming each field."""
    return RequestValidationError(
        [{**problem, "loc": ("body", *problem["loc"])} for problem in error.errors()]
    )

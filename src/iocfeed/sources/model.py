"""A source (a feed pulled on a schedule), its credentials, checkpoint and run records."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from iocfeed.errors import InvalidQuery
from iocfeed.indicators.model import Confidence, IocType, Tlp

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
MIN_INTERVAL_SECONDS = 60
DEFAULT_INTERVAL_SECONDS = 3600


class SourceKind(enum.StrEnum):
    """The kinds of feed a source can pull (SPEC §7)."""

    TAXII = "taxii"
    MISP = "misp"
    THREATFOX = "threatfox"
    URLHAUS = "urlhaus"
    FEODO = "feodo"
    CSV = "csv"
    TEXT = "text"
    STIX = "stix"


FULL_DUMP_KINDS: frozenset[SourceKind] = frozenset(
    {
        SourceKind.URLHAUS,
        SourceKind.FEODO,
        SourceKind.CSV,
        SourceKind.TEXT,
        SourceKind.STIX,
        SourceKind.THREATFOX,
    }
)
"""Kinds whose every download lists everything the source currently reports: what a dump
no longer lists has been dropped by the source (``delta``)."""


class CredentialKind(enum.StrEnum):
    HEADER = "header"
    BASIC = "basic"
    API_KEY = "api_key"


DEFAULT_API_KEY_HEADER = "X-API-Key"


@dataclass(frozen=True, slots=True)
class Credentials:
    """How to authenticate to the feed. ``secret`` is sent, stored, and never shown."""

    kind: CredentialKind
    name: str
    """The header name (header, api_key) or the user name (basic)."""
    secret: str = field(repr=False)

    def headers(self) -> dict[str, str]:
        if self.kind is CredentialKind.BASIC:
            return {}
        return {self.name: self.secret}

    def basic(self) -> tuple[str, str] | None:
        return (self.name, self.secret) if self.kind is CredentialKind.BASIC else None

    def described(self) -> str:
        """What may be shown: the kind and the header or user name, never the secret."""
        if self.kind is CredentialKind.BASIC:
            return f"basic (user {self.name})"
        return f"{self.kind.value} ({self.name})"

    def as_json(self) -> dict[str, str]:
        return {"kind": self.kind.value, "name": self.name, "secret": self.secret}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Credentials:
        return cls(CredentialKind(data["kind"]), str(data["name"]), str(data["secret"]))


@dataclass(frozen=True, slots=True)
class SourceSettings:
    """What a source gives the indicators it reports, and what it keeps of them."""

    confidence: Confidence = Confidence.MEDIUM
    tlp: Tlp | None = None
    tags: tuple[str, ...] = ()
    types: frozenset[IocType] = frozenset()
    """Only these types are kept; empty = every type."""
    columns: dict[str, int | str] = field(default_factory=dict)
    """CSV kind: field (value, type, first_seen, last_seen, tags, description, confidence)
    → 1-based column number, or column title in the header row."""

    def as_json(self) -> dict[str, Any]:
        return {
            "confidence": self.confidence.value,
            "tlp": self.tlp.value if self.tlp else None,
            "tags": list(self.tags),
            "types": sorted(t.value for t in self.types),
            "columns": dict(self.columns),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SourceSettings:
        return cls(
            confidence=Confidence(data.get("confidence", Confidence.MEDIUM.value)),
            tlp=Tlp(data["tlp"]) if data.get("tlp") else None,
            tags=tuple(data.get("tags", ())),
            types=frozenset(IocType(t) for t in data.get("types", ())),
            columns=dict(data.get("columns", {})),
        )


CSV_FIELDS = ("value", "type", "first_seen", "last_seen", "tags", "description", "confidence")


def check_columns(columns: dict[str, int | str]) -> dict[str, int | str]:
    """A CSV column mapping, checked: known fields, positive column numbers, a value column."""
    for name, column in columns.items():
        if name not in CSV_FIELDS:
            raise InvalidQuery(
                f"unknown CSV field {name[:32]!r}; fields: {', '.join(CSV_FIELDS)}",
                parameter="columns",
            )
        if isinstance(column, int) and column < 1:
            raise InvalidQuery("CSV column numbers start at 1", parameter="columns")
    if columns and "value" not in columns:
        raise InvalidQuery("a CSV column mapping needs a value column", parameter="columns")
    return columns


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise InvalidQuery(
            "a source name is 1-64 letters, digits, '.', '_' or '-', starting with a letter "
            "or digit",
            parameter="name",
        )
    return name


def check_url(url: str) -> str:
    if not re.match(r"https?://[^\s/]+", url):
        raise InvalidQuery("the source URL must be http:// or https://", parameter="url")
    return url


REDACTED = "***"
# The user information of a URL (``user:password@``), and query parameters named like a
# secret (``apikey=``, ``access_token=``, ``auth=``, ``sig=``, ...).
_USERINFO = re.compile(r"(?<=://)[^/?#@\s]+@")
_SECRET_PARAMETER = re.compile(
    r"(?i)([?&;](?:[\w.-]*(?:key|token|secret|passw(?:or)?d|pwd|auth|signature|credential)"
    r"[\w.-]*|sig)=)[^&#\s'\"]*"
)


def redact(text: str) -> str:
    """``text`` (a URL, or an error or log line naming one) with the credentials a URL may
    carry replaced by ``***``: the user information and secret-looking query parameters."""
    return _SECRET_PARAMETER.sub(r"\1" + REDACTED, _USERINFO.sub(REDACTED + "@", text))


def check_interval(seconds: int) -> int:
    if seconds < MIN_INTERVAL_SECONDS:
        raise InvalidQuery(
            f"the interval must be at least {MIN_INTERVAL_SECONDS} seconds", parameter="interval"
        )
    return seconds


@dataclass(frozen=True, slots=True)
class NewSource:
    """A source as an operator defines it."""

    name: str
    kind: SourceKind
    url: str
    interval_seconds: int = DEFAULT_INTERVAL_SECONDS
    credentials: Credentials | None = field(default=None, repr=False)
    settings: SourceSettings = field(default_factory=SourceSettings)


@dataclass(frozen=True, slots=True)
class Source:
    """A stored source."""

    source_id: int
    name: str
    kind: SourceKind
    url: str
    """As given, credentials and all: show ``redact(url)``."""
    interval_seconds: int
    enabled: bool
    credentials: Credentials | None = field(repr=False)
    settings: SourceSettings
    checkpoint: dict[str, Any]
    created: datetime
    next_run: datetime


class RunOutcome(enum.StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    NOT_MODIFIED = "not_modified"
    """The feed answered 304: nothing changed since the last run (a success)."""
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class RunCounts:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    revoked: int = 0


@dataclass(frozen=True, slots=True)
class SourceRun:
    """One run of a source: when, how it ended, what it changed, and why it failed."""

    run_id: int
    source_id: int
    started: datetime
    finished: datetime | None
    outcome: RunOutcome
    counts: RunCounts
    error: str | None

    @property
    def failed(self) -> bool:
        return self.outcome is RunOutcome.FAILED


def parse_credentials(
    *,
    header: str | None = None,
    basic: str | None = None,
    api_key: str | None = None,
    api_key_header: str = DEFAULT_API_KEY_HEADER,
) -> Credentials | None:
    """At most one of ``header`` ("Name: value"), ``basic`` ("user:password") or ``api_key``."""
    given = [item for item in (header, basic, api_key) if item]
    if len(given) > 1:
        raise InvalidQuery(
            "give one of header, basic or api_key credentials", parameter="credentials"
        )
    if header:
        name, sep, secret = header.partition(":")
        if not sep or not _HEADER_NAME.fullmatch(name.strip()) or not secret.strip():
            raise InvalidQuery("a header credential is 'Name: value'", parameter="credentials")
        return Credentials(CredentialKind.HEADER, name.strip(), secret.strip())
    if basic:
        user, sep, password = basic.partition(":")
        if not sep:
            raise InvalidQuery("a basic credential is 'user:password'", parameter="credentials")
        return Credentials(CredentialKind.BASIC, user, password)
    if api_key:
        if not _HEADER_NAME.fullmatch(api_key_header):
            raise InvalidQuery("not a header name", parameter="api_key_header")
        return Credentials(CredentialKind.API_KEY, api_key_header, api_key)
    return None


_HEADER_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}")


def describe(source: Source, runs: list[SourceRun] | None = None) -> dict[str, Any]:
    """A source as shown to operators (API, CLI): credentials by kind and name only."""
    body: dict[str, Any] = {
        "name": source.name,
        "kind": source.kind.value,
        "url": redact(source.url),
        "interval": source.interval_seconds,
        "enabled": source.enabled,
        "credentials": source.credentials.described() if source.credentials else None,
        **source.settings.as_json(),
        "next_run": source.next_run,
        "created": source.created,
    }
    if runs is not None:
        body["runs"] = [describe_run(run) for run in runs]
    return body


def describe_run(run: SourceRun) -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "started": run.started,
        "finished": run.finished,
        "outcome": run.outcome.value,
        "added": run.counts.added,
        "updated": run.counts.updated,
        "unchanged": run.counts.unchanged,
        "rejected": run.counts.rejected,
        "revoked": run.counts.revoked,
        "error": redact(run.error) if run.error else None,
    }

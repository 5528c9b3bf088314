"""Downloading a source's feed: streamed to a temporary file, never held in memory.

Conditional GET (``If-None-Match``/``If-Modified-Since`` from the source's checkpoint; a
304 means nothing to do), a size limit (checked against ``Content-Length`` and while
streaming), a limit on the whole download's time, and retries with exponential backoff
after connect errors and 5xx answers. A zip archive is unpacked (its first file) into
another temporary file, under the same size limit; a truncated or corrupt archive fails.
A page of HTML where a feed was expected fails too: it is a login or error page.

Every failure is a ``SourceFailed`` whose message says what went wrong, for the run record.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from iocfeed import __version__
from iocfeed.errors import SourceFailed
from iocfeed.sources.model import Credentials

_CHUNK = 1024 * 1024
_HTML_MARKS = (b"<!doctype html", b"<html", b"<head", b"<body")
USER_AGENT = f"iocfeed/{__version__}"


@dataclass(frozen=True, slots=True)
class Limits:
    max_bytes: int
    timeout_seconds: float
    retries: int
    backoff_seconds: float


@dataclass(frozen=True, slots=True)
class Downloaded:
    """A finished download: the body's file (None when the feed answered 304)."""

    path: Path | None
    etag: str | None
    last_modified: str | None

    @property
    def not_modified(self) -> bool:
        return self.path is None


@contextlib.contextmanager
def download(
    url: str,
    limits: Limits,
    *,
    credentials: Credentials | None = None,
    etag: str | None = None,
    last_modified: str | None = None,
    conditional: bool = True,
) -> Iterator[Downloaded]:
    """Download ``url`` into a temporary directory removed on exit."""
    directory = Path(tempfile.mkdtemp(prefix="iocfeed-source-"))
    try:
        yield _download(
            url,
            limits,
            directory,
            credentials=credentials,
            etag=etag if conditional else None,
            last_modified=last_modified if conditional else None,
        )
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _download(
    url: str,
    limits: Limits,
    directory: Path,
    *,
    credentials: Credentials | None,
    etag: str | None,
    last_modified: str | None,
) -> Downloaded:
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip"}
    if credentials is not None:
        headers.update(credentials.headers())
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    deadline = time.monotonic() + limits.timeout_seconds
    attempt = 0
    while True:
        try:
            return _attempt(url, headers, credentials, limits, directory, deadline)
        except _Retryable as error:
            attempt += 1
            wait = limits.backoff_seconds * 2 ** (attempt - 1)
            if attempt > limits.retries or time.monotonic() + wait >= deadline:
                raise SourceFailed(f"{error.message} (after {attempt} attempts)") from None
            time.sleep(wait)


class _Retryable(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _attempt(  # noqa: PLR0917 (one attempt's whole context)
    url: str,
    headers: dict[str, str],
    credentials: Credentials | None,
    limits: Limits,
    directory: Path,
    deadline: float,
) -> Downloaded:
    remaining = max(deadline - time.monotonic(), 0.001)
    timeout = httpx.Timeout(remaining)
    body = directory / "body"
    try:
        with (
            httpx.Client(timeout=timeout, follow_redirects=True) as client,
            client.stream(
                "GET", url, headers=headers, auth=credentials.basic() if credentials else None
            ) as response,
        ):
            if response.status_code == 304:
                return Downloaded(
                    None, headers.get("If-None-Match"), headers.get("If-Modified-Since")
                )
            if response.status_code >= 500:
                raise _Retryable(f"the feed answered HTTP {response.status_code}")
            if response.status_code != 200:
                raise SourceFailed(
                    f"the feed answered HTTP {response.status_code} {response.reason_phrase}"
                )
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > limits.max_bytes:
                raise SourceFailed(_too_large(limits.max_bytes))
            size = 0
            with body.open("wb") as sink:
                for chunk in response.iter_bytes(_CHUNK):
                    size += len(chunk)
                    if size > limits.max_bytes:
                        raise SourceFailed(_too_large(limits.max_bytes))
                    if time.monotonic() > deadline:
                        raise SourceFailed(_too_slow(limits.timeout_seconds))
                    sink.write(chunk)
            etag = response.headers.get("ETag")
            modified = response.headers.get("Last-Modified")
    except httpx.TimeoutException:
        raise SourceFailed(_too_slow(limits.timeout_seconds)) from None
    except httpx.ConnectError as error:
        raise _Retryable(f"cannot reach the feed: {error}") from None
    except httpx.RemoteProtocolError as error:
        raise _Retryable(f"the download was cut short: {error}") from None
    except httpx.HTTPError as error:
        raise SourceFailed(f"download failed: {error}") from None
    path = _unpacked(body, directory, limits.max_bytes)
    _refuse_html(path)
    return Downloaded(path, etag, modified)


def _too_large(limit: int) -> str:
    return f"the feed is larger than the limit of {limit} bytes (source_max_bytes)"


def _too_slow(limit: float) -> str:
    return f"the download took longer than {limit:g} seconds (source_timeout_seconds)"


def _unpacked(path: Path, directory: Path, max_bytes: int) -> Path:
    """The file itself, or the first file of a zip archive, unpacked under ``max_bytes``."""
    with path.open("rb") as head:
        if head.read(4) != b"PK\x03\x04":
            return path
    target = directory / "unpacked"
    try:
        with zipfile.ZipFile(path) as archive:
            members = [info for info in archive.infolist() if not info.is_dir()]
            if not members:
                raise SourceFailed("the zip archive holds no file")
            size = 0
            with archive.open(members[0]) as source, target.open("wb") as sink:
                while chunk := source.read(_CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise SourceFailed(_too_large(max_bytes) + " once unpacked")
                    sink.write(chunk)
    except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile) as error:
        raise SourceFailed(f"the zip archive is truncated or corrupt: {error}") from None
    path.unlink()
    return target


def _refuse_html(path: Path) -> None:
    """Refuse an HTML page; judged by the body, since feeds' Content-Type is often wrong."""
    with path.open("rb") as head:
        start = head.read(512).lstrip().lower()
    if start.startswith(_HTML_MARKS):
        raise SourceFailed(
            "the feed sent an HTML page instead of data (a login, error or moved page?)"
        )

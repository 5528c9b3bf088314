"""Refanging: every marker vendors publish is undone, and ordinary text is left alone."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iocfeed.indicators.refang import is_defanged, refang, tighten


@pytest.mark.parametrize(
    ("defanged", "refanged"),
    [
        ("hxxp://evil.com", "http://evil.com"),
        ("hxxps://evil.com", "https://evil.com"),
        ("hXXp://evil.com", "http://evil.com"),
        ("HXXPS://evil.com", "https://evil.com"),
        ("hxxxp://evil.com", "http://evil.com"),
        ("h**p://evil.com", "http://evil.com"),
        ("fxp://files.evil.com", "ftp://files.evil.com"),
        ("hxxp[:]//evil.com", "http://evil.com"),
        ("hxxps[://]evil.com", "https://evil.com"),
        ("http(:)//evil.com", "http://evil.com"),
        ("evil[.]com", "evil.com"),
        ("evil(.)com", "evil.com"),
        ("evil{.}com", "evil.com"),
        ("evil[dot]com", "evil.com"),
        ("evil[DOT]com", "evil.com"),
        ("evil(dot)com", "evil.com"),
        ("evil[ . ]com", "evil.com"),
        ("evil [.] com", "evil.com"),
        ("evil . com", "evil.com"),
        ("evil dot com", "evil.com"),
        ("5 . 252 . 178 . 140", "5.252.178.140"),
        ("evil\\.com", "evil.com"),
        ("bob[@]evil.com", "bob@evil.com"),
        ("bob[at]evil.com", "bob@evil.com"),
        ("bob(at)evil.com", "bob@evil.com"),
        ("bob [AT] evil [dot] com", "bob@evil.com"),
        ("5.252.178[.]140", "5.252.178.140"),
        ("hxxp://login.kifales[.]ru/a(.)php", "http://login.kifales.ru/a.php"),
        ("c2 hxxp://evil . com/x", "c2 http://evil.com/x"),
    ],
)
def test_markers_are_undone(defanged: str, refanged: str) -> None:
    assert refang(defanged) == refanged


@pytest.mark.parametrize(
    "text",
    [
        "http://example.com/a?b=c#d",
        "https://en.wikipedia.org/wiki/Foo_(bar)",
        "the dot com era ended",
        "End of sentence . Next",
        "hxxp is what analysts write",
        "C:\\.config",
        "bob@example.com",
        "2001:db8::1",
        "[::1]",
        "a [b] c (d) {e}",
        "",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert refang(text) == text


def test_spaced_dots_in_prose_are_undone_only_when_the_line_is_defanged() -> None:
    assert refang("the dot com era") == "the dot com era"
    assert refang("evil dot com and hxxp://x[.]com") == "evil.com and http://x.com"


def test_tighten_keeps_the_markers_visible() -> None:
    assert tighten("evil . com") == "evil[.]com"
    assert tighten("user [at] evil [.] com") == "user[at]evil[.]com"
    assert tighten("plain text") == "plain text"


def test_is_defanged() -> None:
    assert is_defanged("evil[.]com")
    assert is_defanged("hxxps://evil.com")
    assert not is_defanged("evil.com")
    assert not is_defanged("hxxp is a word")


_LABEL = st.from_regex(re.compile(r"[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?"), fullmatch=True)
_DOTS = st.sampled_from(["[.]", "(.)", "{.}", "[dot]", "(dot)", "[DOT]"])


@given(labels=st.lists(_LABEL, min_size=2, max_size=5), marker=_DOTS)
def test_defang_then_refang_round_trips(labels: list[str], marker: str) -> None:
    name = ".".join(labels)
    assert refang(marker.join(labels)) == name
    assert refang(name) == name


@given(
    labels=st.lists(_LABEL, min_size=2, max_size=4),
    path=st.from_regex(re.compile(r"(/[a-z0-9._-]{0,8}){0,3}"), fullmatch=True),
    secure=st.booleans(),
)
def test_defanged_urls_round_trip(labels: list[str], path: str, secure: bool) -> None:
    scheme = "https" if secure else "http"
    url = f"{scheme}://{'.'.join(labels)}{path}"
    defanged = f"hxxp{'s' if secure else ''}[://]{'[.]'.join(labels)}{path}"
    assert refang(defanged) == url
    assert refang(url) == url


@given(st.text(alphabet=st.characters(blacklist_characters="[](){}\\ \t*xXhHfF")))
def test_text_without_marker_characters_is_unchanged(text: str) -> None:
    assert refang(text) == text

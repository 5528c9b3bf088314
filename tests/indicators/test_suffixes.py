"""Top-level and registrable domains come from the Public Suffix List the package ships."""

from __future__ import annotations

import pytest

from iocfeed.indicators.suffixes import is_top_level_domain, registrable_domain


@pytest.mark.parametrize(
    ("name", "registrable"),
    [
        ("a.b.evil.co.uk", "evil.co.uk"),
        ("www.welivesecurity.com", "welivesecurity.com"),
        ("evil.example", "evil.example"),
        ("co.uk", None),
        ("invoice.pdf", None),
    ],
)
def test_registrable_domains_come_from_the_public_suffix_list(
    name: str, registrable: str | None
) -> None:
    assert registrable_domain(name) == registrable


@pytest.mark.parametrize(
    ("label", "known"),
    [("com", True), ("cr", True), ("save", True), ("xn--p1ai", True), ("example", True),
     ("onion", True), ("pdf", False), ("exe", False), ("notatld", False)],
)  # fmt: skip
def test_top_level_domains_come_from_the_public_suffix_list(label: str, known: bool) -> None:
    assert is_top_level_domain(label) is known

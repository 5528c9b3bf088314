"""Finding the indicators in a line of free text: report prose, table rows, lists.

Theory of operation. The line is cut into words at blanks and at the punctuation that
surrounds values in reports and markup (``|`` table cells, backticks, quotes, angle
brackets, commas, semicolons), after :func:`~iocfeed.indicators.refang.tighten` has
joined values that defanging spread over several words (``evil [.] com``). Each word
loses the punctuation around it (a sentence's full stop, unbalanced brackets, AsciiDoc's
``+`` passthrough marks), is refanged, and is kept when it canonicalises as the type
:func:`~iocfeed.indicators.detect.detect_type` gives it.

Prose is full of dotted words that are not domains, so a name that was *not* defanged
must also look like one an author meant:

- its top-level label is not a file extension (``document.docx``; :mod:`.network` lists
  them), and a top-level domain that is also an everyday extension (``.zip``, ``.py``,
  ``.md``) counts only with a subdomain (``setup.py`` is a file, ``cdn.evil.zip`` a host);
- it is not an identifier in mixed case whose last part is capitalised (``System.IO``,
  ``Pterodo.FR``): real names in prose are lower case, upper case, or capitalised only
  at the start (``Evil.com``).

A defanged name is taken on trust: defanging is the author saying "this is an IOC".
Version numbers (``1.2.3``) and file names with digits in the extension (``script.ps1``)
never look like domains. A word with a slash is a URL only when the part before the slash
is a plausible host, so detection names such as ``Win32/Pterodo.CEZ`` are left alone.
"""

from __future__ import annotations

import re

from iocfeed.errors import InvalidIndicator
from iocfeed.indicators.canonical import canonicalize
from iocfeed.indicators.detect import detect_type
from iocfeed.indicators.model import IocType
from iocfeed.indicators.network import AMBIGUOUS_TLDS
from iocfeed.indicators.refang import refang, tighten

_WORD = re.compile(r"[^\s|`'\"<>,;]+")
_OPENERS = "([{*+"
_CLOSERS = ".:!?)]}*+"
_PAIRS = {")": "(", "]": "[", "}": "{"}
_URL_START = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_DIGIT = re.compile(r"[0-9]")


def extract_iocs(text: str) -> list[tuple[IocType, str]]:
    """Every indicator in ``text`` as ``(type, canonical value)``, in order, once each."""
    found: dict[tuple[IocType, str], None] = {}
    for match in _WORD.finditer(tighten(text)):
        word = _trim(match.group())
        if word:
            indicator = _indicator(word)
            if indicator is not None:
                found[indicator] = None
    return list(found)


def _trim(word: str) -> str:
    """``word`` without the punctuation around it; a closing bracket that pairs up stays."""
    start, end = 0, len(word)
    while start < end and word[start] in _OPENERS:
        start += 1
    while end > start and word[end - 1] in _CLOSERS:
        closer = word[end - 1]
        opener = _PAIRS.get(closer)
        if opener is not None:
            inner = word[start:end]
            if inner.count(opener) >= inner.count(closer):
                break
        end -= 1
    return word[start:end]


def _indicator(word: str) -> tuple[IocType, str] | None:
    value = refang(word)
    defanged = value != word
    url_start = _URL_START.search(value)
    if url_start is not None:
        return _canonical(IocType.URL, value[url_start.start() :])
    ioc_type = detect_type(value)
    if ioc_type is None:
        return None
    if ioc_type is IocType.IPV6 and not _DIGIT.search(value):
        return None  # "a::b" is an address, but in prose it is C++ or Perl
    found = _canonical(ioc_type, value)
    if found is None or defanged:
        return found
    if ioc_type is IocType.DOMAIN and not _plausible_name(value, found[1]):
        return None
    if ioc_type is IocType.URL:
        host = value.partition("/")[0].partition(":")[0]
        if detect_type(host) is IocType.DOMAIN and not _plausible_name(host, host.lower()):
            return None
    return found


def _canonical(ioc_type: IocType, value: str) -> tuple[IocType, str] | None:
    try:
        return ioc_type, canonicalize(ioc_type, value)
    except InvalidIndicator:
        return None


def _plausible_name(written: str, canonical: str) -> bool:
    """Whether a name written plainly in prose reads as a domain (see the module docstring)."""
    labels = canonical.split(".")
    if labels[-1] in AMBIGUOUS_TLDS and len(labels) < 3:
        return False
    written_tld = written.rpartition(".")[2]
    return written.islower() or written.isupper() or written_tld.islower()

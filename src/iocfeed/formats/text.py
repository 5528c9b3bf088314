"""Free-text import: IOCs found line by line in plain, defanged or marked-up text.

Each line goes through ``iocfeed.indicators.extract.extract_iocs``, which refangs and finds
every IOC in it; each find is a raw indicator of that type, numbered with the 1-based
physical line. Prose, headings and markup with nothing in them are skipped silently.

A line with nothing found is reported only when it looks like an attempt at an IOC, so a
typo in a list of indicators is not lost without a word. The rule: once list bullets,
table bars and inline quoting (`` ` ``, ``+``, ``*``, ``_``, quotes) are stripped, the line is
one token starting with a letter or digit, and that token carries a mark only IOCs carry:
defanging (``[.]``, ``hxxp``, …), a scheme (``://``), a run of 16 or more hex digits (a
hash of the wrong length), four dot-separated numbers (``999.1.1.1``), ``name@host.tld``,
or IPv6 colons (``::`` or five or more). Dotted words alone are not enough: file names and
identifiers (``setup.py``, ``System.IO``) and detection names (``Win32/Pterodo``) stand on
lines of their own in reports and are not failed IOCs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from iocfeed.formats.fields import excerpt, without_bom
from iocfeed.indicators.extract import extract_iocs
from iocfeed.indicators.model import RawIndicator, Rejected

_BULLET = re.compile(r"\A(?:[-*+•>]|\d+[.)])\s+")
_QUOTING = "|`+*_\"'<>,; \t"
_DEFANGED = re.compile(r"\[\.\]|\(\.\)|\[dot\]|\[:\]|\[@\]|\[at\]|\bhxxps?\b|\bfxp\b", re.I)
# Shapes of a single token that was meant to be an IOC (matched against the whole token).
_ATTEMPTS: tuple[re.Pattern[str], ...] = (
    re.compile(r"[a-z][a-z0-9+.-]*://\S*", re.I),
    re.compile(r"[0-9a-f]{16,}", re.I),
    re.compile(r"\d+(?:\.\d+){3}(?:/\d+)?"),
    re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+"),
    re.compile(r"(?=[0-9a-f:]*::|(?:[0-9a-f]*:){5})[0-9a-f:]+(?:/\d+)?", re.I),
)


def read_text(lines: Iterable[str], first_line: int = 1) -> Iterator[RawIndicator | Rejected]:
    """Every IOC found in the text, line by line, and the lines that look like failed IOCs.

    ``first_line`` > 1 reads a later part of a file, as ``read_jsonl`` does.
    """
    source = without_bom(lines) if first_line == 1 else lines
    for line, text in enumerate(source, start=first_line):
        found = extract_iocs(text)
        for ioc_type, value in found:
            yield RawIndicator(line=line, value=value, type=ioc_type.value)
        if not found and (token := attempted_ioc(text)) is not None:
            yield Rejected(line, f"could not recognise {token!r} as an indicator", excerpt(text))


def attempted_ioc(text: str) -> str | None:
    """The line's one token if it looks like an IOC that could not be read, else ``None``."""
    token = _BULLET.sub("", text.strip()).strip(_QUOTING)
    if not token or any(space in token for space in " \t") or not token[0].isalnum():
        return None
    if _DEFANGED.search(token) or any(shape.fullmatch(token) for shape in _ATTEMPTS):
        return token
    return None

"""Free-text import: IOCs found line by line in plain, defanged or marked-up text.

Each line goes through ``iocfeed.indicators.extract.extract``, which refangs and finds
every IOC in it; each find is a raw indicator of that type, numbered with the 1-based
physical line. Prose, headings and markup with nothing in them are skipped silently.

A line with nothing found (and nothing set aside by context) is reported only when it
looks like an attempt at an IOC, so a typo in a list of indicators is not lost without a
word. The rule: once list bullets,
table bars and inline quoting (`` ` ``, ``+``, ``*``, ``_``, quotes) are stripped, the line is
one token starting with a letter or digit, and that token carries a mark only IOCs carry:
defanging (``[.]``, ``hxxp``, …), a scheme (``://``), a run of 16 or more hex digits (a
hash of the wrong length), four dot-separated numbers (``999.1.1.1``), ``name@host.tld``,
or IPv6 colons (``::`` or five or more). Dotted words alone are not enough: file names and
identifiers (``setup.py``, ``System.IO``) and detection names (``Win32/Pterodo``) stand on
lines of their own in reports and are not failed IOCs. A brace template with too many
alternatives to expand is reported with that reason.

What a line means can depend on the lines before it, so the reader keeps a little state
and hands it to the extractor as a ``LineContext``:

- the current section, from its heading (AsciiDoc ``=``, Markdown ``#``, or a short line
  ending in ``:`` such as ``File Names:``): a section of file names, or of references
  (``References``, ``Sources``, ``See also``, ``Further reading``, ``Links``);
- the current table's file-name columns, from its first ``|`` row (a cell titled
  ``Filename``, ``File name``, ``File`` or ``Path``); a line that is not a table row, or a
  ``|===`` delimiter, ends the table;
- the sentence still open at the end of the line before (the prose lines since a full
  stop, a blank line, a heading, a table row or a line ending in a link): if it
  introduces a link (``The blog post … is available on WeLiveSecurity at``), the links
  on this line are references.

The state starts afresh in each part of a file read by a worker (``first_line`` > 1).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from iocfeed.formats.fields import excerpt, without_bom
from iocfeed.indicators.extract import REFERENCE_CUE, LineContext, extract
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
    reading = _Reading()
    for line, text in enumerate(source, start=first_line):
        extraction = extract(text, reading.context(text))
        for ioc_type, value in extraction.found:
            yield RawIndicator(line=line, value=value, type=ioc_type.value)
        for template, reason in extraction.refused:
            yield Rejected(line, f"{template!r}: {reason}", excerpt(text))
        if (
            not (extraction.found or extraction.refused or extraction.set_aside)
            and (token := attempted_ioc(text)) is not None
        ):
            yield Rejected(line, f"could not recognise {token!r} as an indicator", excerpt(text))


_HEADING = re.compile(r"\A(?:=+|#+)\s+(.+?)\s*\Z|\A([A-Za-z][\w ,/()-]{0,40}):\s*\Z")
_FILE_NAMES = re.compile(r"\bfile\s*names?\b|\bfiles?\s+paths?\b", re.IGNORECASE)
_FILE_NAME_TITLE = re.compile(r"(?:file\s*names?|files?|(?:file\s+)?paths?)", re.IGNORECASE)
_REFERENCES = re.compile(
    r"\A(?:references?|sources?|see\s+also|further\s+reading)\b", re.IGNORECASE
)
_SENTENCE_CHARS = 400  # how much of an open sentence is kept (a sentence, not a document)
_TABLE_DELIMITER = re.compile(r"\A\|=+\s*\Z")
_CELL_MARKUP = "`+*_ \t"


@dataclass(slots=True)
class _Reading:
    """What the lines read so far say about the next one (see the module docstring)."""

    section: str = ""
    table_header: bool = False
    file_name_cells: frozenset[int] = field(default_factory=frozenset)
    sentence: str = ""
    """The sentence still open at the end of the line before (no full stop yet)."""

    def context(self, text: str) -> LineContext:
        stripped = text.strip()
        references = (
            "://" in stripped  # only a link can be a reference: spare other lines the search
            and bool(self.sentence)
            and REFERENCE_CUE.search(self.sentence) is not None
        )
        heading = _HEADING.match(stripped)
        if (
            not stripped
            or stripped[-1] in ".!?"
            or "://" in stripped.rsplit(None, 1)[-1]  # ends with the link it led to
            or heading is not None
            or stripped.startswith("|")
        ):
            self.sentence = ""
        else:  # a sentence may run over several lines before it points to its link
            self.sentence = f"{self.sentence} {stripped}"[-_SENTENCE_CHARS:]
        if heading is not None:
            title = heading.group(1) or heading.group(2)
            self.section = (
                "references"
                if _REFERENCES.match(title)
                else "files"
                if _FILE_NAMES.search(title)
                else ""
            )
        if not stripped.startswith("|") or _TABLE_DELIMITER.match(stripped):
            self.table_header, self.file_name_cells = False, frozenset()
        elif not self.table_header:
            self.table_header = True
            self.file_name_cells = frozenset(
                index
                for index, cell in enumerate(stripped.split("|"))
                if _FILE_NAME_TITLE.fullmatch(cell.strip(_CELL_MARKUP))
            )
        return LineContext(
            file_name_cells=self.file_name_cells,
            file_names=self.section == "files",
            references=references or self.section == "references",
        )


def attempted_ioc(text: str) -> str | None:
    """The line's one token if it looks like an IOC that could not be read, else ``None``."""
    token = _BULLET.sub("", text.strip()).strip(_QUOTING)
    if not token or any(space in token for space in " \t") or not token[0].isalnum():
        return None
    if _DEFANGED.search(token) or any(shape.fullmatch(token) for shape in _ATTEMPTS):
        return token
    return None

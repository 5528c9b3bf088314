r"""Finding the indicators in a line of free text: report prose, table rows, lists.

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

Context decides what shape alone cannot (a defanged value is always kept):

- **Command lines.** In a line that runs a program (its first word ends in ``.exe``,
  ``.bat``, ``.cmd``, ``.ps1``, ``.vbs`` or ``.msi``, or is a Windows shell or system tool
  such as ``powershell`` or ``reg``), the words after the program are its arguments: a
  plain name there is a file or a registry path, not a domain (``reg.exe save HKLM\SAM
  sam.save``). URLs, addresses and hashes in it are still taken.
- **File names.** A plain name in a table column titled as file names, or in a section
  headed so, is a file (``et2z7q0FREZ.cr``); :class:`LineContext` carries what the lines
  before said (see :mod:`iocfeed.formats.text`).
- **References.** A URL that the text points its reader to (``available on WeLiveSecurity
  at https://…``, ``Source:``, ``See also``, a References section) is where the report is
  published, not an indicator; a defanged URL is never a reference.
- **Brace templates.** ``http://198.51.100.7/br/mp1a{1,sq,sl,ss}.aj5`` stands for each of
  its alternatives, which are taken one by one (up to :data:`MAX_EXPANSIONS`); a template
  with more is refused with a reason, never cut at the brace.
"""

from __future__ import annotations

import functools
import itertools
import re
from dataclasses import dataclass, field

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

# A word holding one or more ``{a,b}`` groups (commas inside braces only).
_TEMPLATE = re.compile(
    r"[^\s|`'\"<>,;{}]*(?:\{[^{}\s|`'\"<>;]*,[^{}\s|`'\"<>;]*\}[^\s|`'\"<>,;{}]*)+"
)
_GROUP = re.compile(r"\{([^{}]*)\}")
MAX_EXPANSIONS = 32
"""The most alternatives a brace template may stand for; one with more is refused."""

# The first word of a line that runs a program: a file that executes, or a Windows shell
# or system tool called by name. Bullets, prompts and quotes before it are skipped.
_LEAD = re.compile(r"\A[\s\-*+•>$#`'\"]*")
_FIRST_WORD = re.compile(r"\S+")
_PROGRAM = re.compile(
    r"\S*\.(?:exe|bat|cmd|ps1|vbs|msi)|(?:powershell|pwsh|cmd|reg|rundll32|regsvr32|wmic|"
    r"schtasks|certutil|bitsadmin|mshta|cscript|wscript|vssadmin|msiexec)",
    re.IGNORECASE,
)

# Words that send the reader to a link: the URL after them is where the report lives. A
# publication named and said to be available somewhere (``the blog post … is available on
# WeLiveSecurity at``), or a label (``Source:``, ``References:``, ``See also``). "The payload
# is available at http://…" names no publication: that URL is an indicator.
REFERENCE_CUE = re.compile(
    r"\b(?:blog|post|article|paper|whitepaper|report|write-?up|analysis|research|summary|"
    r"advisory|publication)\b.{0,120}?\b(?:available|published|posted)(?:\s+\S+){0,6}?\s+"
    r"(?:at|on|in|from|here)\b|\b(?:sources?|references?|further\s+reading|"
    r"more\s+(?:information|details))\s*:|\b(?:see\s+also|read\s+more)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class LineContext:
    """What the lines before a line say about it (see :mod:`iocfeed.formats.text`)."""

    file_name_cells: frozenset[int] = frozenset()
    """Indexes of ``|``-separated cells that hold file names (a table's file-name column)."""
    file_names: bool = False
    """The line is in a section of file names."""
    references: bool = False
    """The line's links are references: a References section, or a line that introduced it."""


@dataclass(slots=True)
class Extraction:
    """What a line holds: indicators in order, once each, and templates refused with why."""

    found: list[tuple[IocType, str]] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)
    set_aside: list[tuple[IocType, str]] = field(default_factory=list)
    """Values of an indicator's shape that the context says are not indicators."""


def extract_iocs(text: str, context: LineContext | None = None) -> list[tuple[IocType, str]]:
    """Every indicator in ``text`` as ``(type, canonical value)``, in order, once each."""
    return extract(text, context).found


def extract(text: str, context: LineContext | None = None) -> Extraction:
    """The indicators in ``text`` and the brace templates refused (see the module docstring)."""
    text = tighten(text)
    result = Extraction()
    words: list[tuple[int, str]] = []
    if "{" in text:  # most lines hold no template: spare them the search
        for match in _TEMPLATE.finditer(text):
            expanded = _expand(match.group())
            if expanded is None:
                reason = f"a template for more than {MAX_EXPANSIONS} values: list them one by one"
                result.refused.append((match.group(), reason))
            else:
                words.extend(
                    (match.start(), word.group())
                    for alternative in expanded
                    for word in _WORD.finditer(alternative)
                )
            text = text[: match.start()] + " " * len(match.group()) + text[match.end() :]
        words.extend((match.start(), match.group()) for match in _WORD.finditer(text))
        words.sort(key=lambda item: item[0])
    else:
        words = [(match.start(), match.group()) for match in _WORD.finditer(text)]
    line = _Line(text, context or LineContext())
    found: dict[tuple[IocType, str], None] = {}
    for start, raw in words:
        word = _trim(raw)
        if not word:
            continue
        taken = _indicator(word)
        if taken is None:
            continue
        indicator, defanged = taken
        if not defanged and line.rules_out(indicator[0], start):
            result.set_aside.append(indicator)
            continue
        found[indicator] = None
    result.found = list(found)
    return result


class _Line:
    """A line and its context, asked about plain finds; its own cues are read when needed."""

    def __init__(self, text: str, context: LineContext) -> None:
        self.text = text
        self.context = context

    def rules_out(self, ioc_type: IocType, start: int) -> bool:
        """Whether the context says a plain (not defanged) find at ``start`` is no indicator."""
        context = self.context
        if ioc_type is IocType.URL:
            cue = self.cue
            return context.references or (cue is not None and cue.end() <= start)
        if ioc_type is not IocType.DOMAIN:
            return False
        arguments_from = self.arguments_from
        if context.file_names or (arguments_from is not None and start >= arguments_from):
            return True
        cells = context.file_name_cells
        return bool(cells) and self.text.count("|", 0, start) in cells

    @functools.cached_property
    def cue(self) -> re.Match[str] | None:
        """Words on the line that send the reader to the link after them."""
        return REFERENCE_CUE.search(self.text)

    @functools.cached_property
    def arguments_from(self) -> int | None:
        """Where a command line's arguments start, or ``None`` if the line runs no program."""
        lead = _LEAD.match(self.text)
        start = lead.end() if lead is not None else 0
        first = _FIRST_WORD.match(self.text, start)
        if first is None or _PROGRAM.fullmatch(first.group().strip("`'\"")) is None:
            return None
        return first.end()


def _expand(template: str) -> list[str] | None:
    """Each word a brace template stands for, or ``None`` if that is too many."""
    groups = [match.group(1).split(",") for match in _GROUP.finditer(template)]
    count = 1
    for alternatives in groups:
        count *= len(alternatives)
    if count > MAX_EXPANSIONS:
        return None
    pieces = _GROUP.split(template)[::2]  # the text around the groups
    expanded: list[str] = []
    for choice in itertools.product(*groups):
        word = pieces[0]
        for alternative, after in zip(choice, pieces[1:], strict=True):
            word += alternative + after
        expanded.append(word)
    return expanded


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


def _indicator(word: str) -> tuple[tuple[IocType, str], bool] | None:
    """The indicator ``word`` is, and whether it was defanged; ``None`` if it is none."""
    value = refang(word)
    defanged = value != word
    url_start = _URL_START.search(value)
    if url_start is not None:
        url = _canonical(IocType.URL, value[url_start.start() :])
        return None if url is None else (url, defanged)
    ioc_type = detect_type(value)
    if ioc_type is None:
        return None
    if ioc_type is IocType.IPV6 and not _DIGIT.search(value):
        return None  # "a::b" is an address, but in prose it is C++ or Perl
    found = _canonical(ioc_type, value)
    if found is None:
        return None
    if defanged:
        return found, True
    if ioc_type is IocType.DOMAIN and not _plausible_name(value, found[1]):
        return None
    if ioc_type is IocType.URL:
        host = value.partition("/")[0].partition(":")[0]
        if detect_type(host) is IocType.DOMAIN and not _plausible_name(host, host.lower()):
            return None
    return found, False


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

"""Refanging: turning defanged indicator text (``hxxp://evil[.]com``) back into real values.

Reports defang indicators so that nobody clicks them by accident. The markers undone
here are the ones vendors actually publish:

==========================================  ==========
defanged                                    refanged
==========================================  ==========
``hxxp``, ``hXXp``, ``hxxxp``, ``h**p``      ``http`` (``hxxps`` → ``https``)
``fxp``                                     ``ftp``
``[.]`` ``(.)`` ``{.}`` ``[dot]`` ``(dot)``  ``.``
``[:]`` ``(:)``                             ``:``
``[://]``                                   ``://``
``[@]`` ``(@)`` ``[at]`` ``(at)``           ``@``
``evil\\.com``                              ``evil.com``
``evil . com``, ``evil dot com``            ``evil.com`` (see below)
==========================================  ==========

Bracketed markers are unambiguous, so they are undone anywhere (case-insensitively, with
blanks inside or around the brackets). A scheme marker is undone only where a colon
follows it, so the word "hxxp" in prose stays. Spaced dots are ordinary punctuation in
prose ("the dot com era"), so they are undone only when the text is a single dotted
chain such as ``evil dot com`` or when it already carries another marker, which shows
that its author was defanging.
"""

from __future__ import annotations

import re

# One pass over the text finds every unambiguous marker; the group name says what it
# becomes. Lookbehinds keep "\." and the scheme markers from firing inside other words.
_MARKERS = re.compile(
    r"(?P<scheme>(?<![a-z0-9])(?:h(?:xx|xxx|tx|xt|\*\*)p|fxp)s?(?=[\[(]?:))"
    r"|(?P<dot>[\[({] *(?:\.|dot) *[\])}])"
    r"|(?P<at>[\[({] *(?:@|at) *[\])}])"
    r"|(?P<separator>\[://\])"
    r"|(?P<colon>[\[(]:[\])])"
    r"|(?P<escaped>(?<=\w)\\\.(?=\w))",
    re.IGNORECASE,
)

# A bracketed dot or at with blanks around it, as in "evil [.] com".
_GAPPED_MARKER = re.compile(r"[ \t]*([\[({] *(?:\.|dot|@|at) *[\])}])[ \t]*", re.IGNORECASE)

_REPLACEMENTS: dict[str, str] = {
    "dot": ".",
    "at": "@",
    "separator": "://",
    "colon": ":",
    "escaped": ".",
}

# A dot or the word "dot" with blanks on both sides, between two label characters.
_SPACED_DOT = re.compile(r"(?<=[\w\]])[ \t]+(?:\.|dot)[ \t]+(?=[\w\[])", re.IGNORECASE)

# The whole text is one dotted chain written with spaced dots: "evil . com", "1 . 2 . 3 . 4".
_SPACED_CHAIN = re.compile(r"\s*[\w-]+(?:[ \t]+(?:\.|dot)[ \t]+[\w-]+)+\s*", re.IGNORECASE)


# Something every marker above contains: most values have none, and one scan of this
# pattern is much cheaper than running the substitutions on them.
_ANY_MARKER = re.compile(r"[\[({\\ \t*]|hx|htx|fx", re.IGNORECASE)


def _replace(match: re.Match[str]) -> str:
    group = match.lastgroup
    if group == "scheme":
        marker = match.group().lower()
        return ("ftp" if marker[0] == "f" else "http") + ("s" if marker[-1] == "s" else "")
    return _REPLACEMENTS[group or ""]


def is_defanged(text: str) -> bool:
    """Whether ``text`` carries an unambiguous defanging marker."""
    return _MARKERS.search(text) is not None


def tighten(text: str) -> str:
    """Join the pieces of values that defanging spread over several words.

    ``evil . com`` and ``evil dot com`` become ``evil[.]com`` where they are defanging
    rather than prose (see the module docstring); blanks around a bracketed marker go
    (``user [at] evil [.] com`` → ``user[at]evil[.]com``). Keeping the markers lets a
    caller still see that a value was defanged; other text is returned as is.
    """
    if _SPACED_DOT.search(text) is not None and (
        _SPACED_CHAIN.fullmatch(text) is not None or is_defanged(text)
    ):
        text = _SPACED_DOT.sub("[.]", text)
    return _GAPPED_MARKER.sub(r"\1", text)


def refang(text: str) -> str:
    """Undo defanging in ``text``; text without markers comes back unchanged."""
    if _ANY_MARKER.search(text) is None:
        return text
    if " " not in text and "\t" not in text:
        # Without blanks there is nothing to tighten, and "[.]" alone is by far the most
        # common marker: a plain replace settles most defanged values.
        text = text.replace("[.]", ".")
        if _ANY_MARKER.search(text) is None:
            return text
        return _MARKERS.sub(_replace, text)
    return _MARKERS.sub(_replace, tighten(text))

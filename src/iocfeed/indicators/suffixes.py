"""Top-level and registrable domains, from the Public Suffix List.

The list comes from the ``publicsuffixlist`` package, which ships a dated snapshot of the
PSL in its wheel and reads nothing from the network (a new release carries a new snapshot,
so upgrading the package is how the list is kept current). It knows every delegated
top-level domain, so a name ending in ``.pdf`` or ``.docx`` is a file name, not a host,
without a table of extensions of our own; and it knows where the registrable part of a name
starts (``evil.co.uk`` under ``a.b.evil.co.uk``).

Special-use names (the IANA registry: RFC 2606, 6761, 6762, 7686, 9476, and ``internal``)
are not in the root zone but are written in documentation, tests and internal feeds, so they
count as top-level domains here too.
"""

from __future__ import annotations

import functools

from publicsuffixlist import PublicSuffixList

SPECIAL_USE_TLDS: frozenset[str] = frozenset(
    {"alt", "example", "internal", "invalid", "local", "localhost", "onion", "test"}
)


@functools.cache
def _suffix_list() -> PublicSuffixList:
    return PublicSuffixList()


# Top-level labels repeat on nearly every domain of a feed: remember the answers (bounded:
# the root zone has some 1,500 of them, and a miss is a short string).
@functools.lru_cache(maxsize=4096)
def is_top_level_domain(label: str) -> bool:
    """``"com"``, ``"zip"``, ``"xn--p1ai"``, ``"example"`` → True; ``"pdf"``, ``"exe"`` → False."""
    label = label.lower()
    if label in SPECIAL_USE_TLDS:
        return True
    return _suffix_list().publicsuffix(f"x.{label}", accept_unknown=False) is not None


def registrable_domain(name: str) -> str | None:
    """``"a.b.evil.co.uk"`` → ``"evil.co.uk"``; ``None`` for a public suffix or unknown TLD."""
    name = name.lower()
    labels = name.split(".")
    if labels[-1] in SPECIAL_USE_TLDS:
        return ".".join(labels[-2:]) if len(labels) > 1 else None
    found: str | None = _suffix_list().privatesuffix(name, accept_unknown=False)
    return found

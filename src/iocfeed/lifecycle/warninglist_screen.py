"""What a process screens values with: the enabled lists by name, built into a matcher once.

A ``Screen`` is small (list names and policies, plus the operator lists' entries) so it
travels cheaply to the worker processes of a large import; each process builds the
``Matcher`` from it on first use, reading the MISP lists from the package itself, and
keeps it for every later screen of the same lists. Sending the built matcher instead
would pickle millions of entries (seconds) for every worker.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from iocfeed.lifecycle.misp_warninglists import misp_entries
from iocfeed.lifecycle.warninglists import Entries, Matcher, Origin, Policy, WarningList

EnabledList = tuple[str, Policy, Entries | None]
"""A list's name, its policy, and its entries (``None``: a MISP list, read by name)."""


@dataclass(frozen=True, slots=True)
class Screen:
    """The enabled lists; ``matcher()`` is built once per process for each distinct screen."""

    lists: tuple[EnabledList, ...] = ()

    def matcher(self) -> Matcher:
        return _build(self.lists)


@functools.lru_cache(maxsize=4)
def _build(lists: tuple[EnabledList, ...]) -> Matcher:
    return Matcher(
        [
            WarningList(
                name,
                policy,
                Origin.MISP if entries is None else Origin.OPERATOR,
                entries=misp_entries(name) if entries is None else entries,
            )
            for name, policy, entries in lists
        ]
    )

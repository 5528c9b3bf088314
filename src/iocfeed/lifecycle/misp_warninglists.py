"""The MISP warninglists, read from the ``pymispwarninglists`` package (CC0 data).

The package ships a dated snapshot of every list in its wheel and reads nothing from the
network here (a new release carries new lists, so upgrading the package is how they are
kept current). A list's name here is its directory name, lower-cased (``public-dns-v4``,
``tranco10k``); its entries are read only when the list is enabled, since a few hold a
million names.

How MISP's list types map onto ours: ``cidr`` entries are networks; ``hostname`` entries
are domain suffixes (the name and every name under it); ``string`` entries are exact
values, except that a leading ``.`` makes a suffix (``.google.com``). ``substring`` and
``regex`` lists are not offered: they match parts of values, not indicators.
"""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass
from pathlib import Path

import orjson

from iocfeed.lifecycle.warninglists import Entries, network_span
from iocfeed.package_data import package_folder

_LISTS = package_folder("pymispwarninglists") / "data" / "misp-warninglists" / "lists"
_MATCHED_TYPES = frozenset({"cidr", "hostname", "string"})


@dataclass(frozen=True, slots=True)
class MispList:
    """One MISP list's description, without its entries."""

    name: str
    title: str
    description: str
    kind: str
    size: int
    version: int


def _split(data: bytes) -> tuple[bytes, bytes, bytes]:
    """The file cut around its ``list`` array: (before, array, after)."""
    start = data.index(b'"list"')
    opening = data.index(b"[", start)
    depth = 0
    # Entries are plain strings; the array ends at the first "]" outside a string.
    in_string = False
    escaped = False
    for position in range(opening, len(data)):
        char = data[position]
        if in_string:
            if escaped:
                escaped = False
            elif char == 0x5C:
                escaped = True
            elif char == 0x22:
                in_string = False
        elif char == 0x22:
            in_string = True
        elif char == 0x5B:
            depth += 1
        elif char == 0x5D:
            depth -= 1
            if depth == 0:
                return data[:opening], data[opening : position + 1], data[position + 1 :]
    raise ValueError("unterminated list")


def _describe(name: str, data: bytes) -> MispList:
    before, array, after = _split(data)
    head = orjson.loads(before + b"[]" + after)
    return MispList(
        name=name,
        title=str(head.get("name", name)),
        description=str(head.get("description", "")),
        kind=str(head.get("type", "")),
        size=array.count(b'"') // 2,
        version=int(head.get("version", 0)),
    )


@functools.cache
def misp_catalogue() -> dict[str, MispList]:
    """Every list the package ships that matches whole indicators, by name."""
    found: dict[str, MispList] = {}
    for path in sorted(_LISTS.glob("*/list.json")):
        data = path.read_bytes()
        # The array can be long (a million names): scan for "]" with bytes.find instead of
        # per byte when no entry contains a bracket, which is the case in every list.
        name = path.parent.name.lower()
        with contextlib.suppress(ValueError):  # a file that is not a list is skipped
            described = _describe_fast(name, data)
            if described.kind not in _MATCHED_TYPES:
                continue

            found[name] = described
    return found


def _describe_fast(name: str, data: bytes) -> MispList:
    start = data.find(b'"list"')
    closing = data.find(b"\n  ]", start)
    if start < 0 or closing < 0 or b"]" in data[start:closing]:
        return _describe(name, data)
    opening = data.index(b"[", start)
    array = data[opening : closing + 4]
    head = orjson.loads(data[:opening] + b"[]" + data[closing + 4 :])
    return MispList(
        name=name,
        title=str(head.get("name", name)),
        description=str(head.get("description", "")),
        kind=str(head.get("type", "")),
        size=array.count(b'"') // 2,
        version=int(head.get("version", 0)),
    )


def _path(name: str) -> Path:
    for path in _LISTS.iterdir():
        if path.name.lower() == name:
            return path / "list.json"
    raise KeyError(name)


@functools.lru_cache(maxsize=256)
def misp_entries(name: str) -> Entries:
    """The entries of one MISP list, in canonical form (see the module docstring)."""
    document = orjson.loads(_path(name).read_bytes())
    kind = document.get("type")
    raw = [str(entry).strip() for entry in document.get("list", [])]
    if kind == "cidr":
        networks: list[str] = []
        for entry in raw:
            with contextlib.suppress(ValueError):  # a malformed entry is skipped
                network_span(entry)
                networks.append(entry)
        return Entries(networks=tuple(networks))
    # Comprehensions over a million names: the common case costs one lower() per name.
    if kind == "hostname":
        domains = {
            entry.lower() for entry in raw if entry and entry[0] not in "*." and entry[-1] != "."
        }
        domains |= {
            entry.lstrip("*.").rstrip(".").lower()
            for entry in raw
            if entry and (entry[0] in "*." or entry[-1] == ".")
        }
        return Entries(domains=frozenset(domains))
    values = frozenset(entry.lower() for entry in raw if entry and entry[0] != ".")
    suffixes = frozenset(entry[1:].rstrip(".").lower() for entry in raw if entry[:1] == ".")
    return Entries(values=values, domains=suffixes)

"""The formats out beside STIX: media type, file name, the types each can hold and its cap.

A firewall list is a whole list, not a page: ``limit`` defaults to the cap (further capped by
the plan's ``max_list_entries``) and asking for more is a 400 naming the cap. MISP feeds and
Suricata rule files are capped lower: MISP fetches whole events, and Suricata loads every
rule at start-up.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from iocfeed.indicators.model import IocType
from iocfeed.outputs import hosts, misp, rpz, suricata
from iocfeed.outputs.text import FAMILY_OF


class OutputFormat(enum.StrEnum):
    """SPEC §7: ``GET /api/v1/export/{format}``."""

    TXT = "txt"
    CSV = "csv"
    SURICATA = "suricata"
    RPZ = "rpz"
    MISP = "misp"
    HOSTS = "hosts"


OUTPUT_NAMES = ", ".join(kind.value for kind in OutputFormat)


@dataclass(frozen=True, slots=True)
class FormatSpec:
    media_type: str
    extension: str
    types: frozenset[IocType]
    """The IOC types the format can hold (the default ``type`` filter)."""
    max_limit: int
    """The most indicators one download holds."""


SPECS: dict[OutputFormat, FormatSpec] = {
    OutputFormat.TXT: FormatSpec(
        "text/plain; charset=utf-8", "txt", frozenset(FAMILY_OF), 1_000_000
    ),
    OutputFormat.CSV: FormatSpec("text/csv; charset=utf-8", "csv", frozenset(IocType), 1_000_000),
    OutputFormat.SURICATA: FormatSpec(
        "text/plain; charset=utf-8", "rules", suricata.TYPES, 100_000
    ),
    OutputFormat.RPZ: FormatSpec("text/dns; charset=utf-8", "rpz", rpz.TYPES, 1_000_000),
    OutputFormat.MISP: FormatSpec("application/json", "json", misp.TYPES, 100_000),
    OutputFormat.HOSTS: FormatSpec("text/plain; charset=utf-8", "txt", hosts.TYPES, 1_000_000),
}

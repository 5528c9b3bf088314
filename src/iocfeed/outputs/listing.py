"""What every writer is told about the list it writes, and the chunking of lines into bytes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from iocfeed.indicators.model import Indicator, Tlp

# Lines per chunk: about 50 KB of a firewall list, small enough to start sending at once.
LINES_PER_CHUNK = 2000


class Entry(Protocol):
    """What a plain list shows of an indicator: its type (an ``IocType`` value) and value.
    An ``Indicator`` is one; so is the store's narrower row for lists."""

    @property
    def type(self) -> str: ...

    @property
    def value(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Listing:
    """The facts about one export that its header, SOA or manifest show."""

    generated: datetime
    """When the export was made."""
    count: int
    """How many indicators it holds."""
    newest: datetime | None
    """The newest ``date_added`` among them (``None`` when empty)."""
    producer: str
    """The producer's name, e.g. ``SOC Defenders``."""
    tlp: Tlp | None = None
    """The ``tlp`` parameter: replaces the confidence-based default TLP."""

    def tlp_of(self, indicator: Indicator) -> Tlp:
        """SPEC §4, as ``iocfeed.stix.objects.object_tlp``: the operator's TLP, else the
        forced one, else the confidence's; the forced one never lowers the operator's."""
        if indicator.tlp is None:
            return self.tlp if self.tlp is not None else indicator.effective_tlp
        if self.tlp is not None and self.tlp > indicator.tlp:
            return self.tlp
        return indicator.tlp


def chunked(lines: Iterable[str], size: int = LINES_PER_CHUNK) -> Iterator[bytes]:
    """Lines (without their ``\\n``) as UTF-8 chunks of ``size`` lines, each line LF-ended."""
    batch: list[str] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= size:
            batch.append("")
            yield "\n".join(batch).encode()
            batch = []
    if batch:
        batch.append("")
        yield "\n".join(batch).encode()


def epoch_seconds(moment: datetime) -> int:
    """Whole seconds since the epoch (MISP timestamps, RPZ serials)."""
    return int(moment.timestamp())

"""``hosts``: a hosts-file blocklist, ``0.0.0.0 <domain>`` per line.

Read by operating systems, Pi-hole, AdGuard Home and blocky. Hosts files hold host names
only (IPs and URLs belong in ``txt`` lists); comments go on their own ``#`` lines, never
after an entry (some Pi-hole versions count nothing then), and are off by default.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from iocfeed.indicators.model import IocType
from iocfeed.outputs.listing import Entry, Listing, chunked
from iocfeed.outputs.text import header

TYPES = frozenset({IocType.DOMAIN})
SINK = "0.0.0.0"  # noqa: S104 - the unroutable address a hosts blocklist points names at


def render(
    indicators: Iterable[Entry], listing: Listing, *, comments: bool = False
) -> Iterator[bytes]:
    if comments:
        yield "\n".join([*header(listing, "iocfeed hosts blocklist"), ""]).encode()
    yield from chunked(f"{SINK} {indicator.value}" for indicator in indicators)

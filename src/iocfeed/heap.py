"""The cyclic garbage collector, set for a process that has built what it keeps.

CPython frees almost every object by reference counting. Its cyclic collector runs besides:
each time 700 more container objects have been made than freed, and every tenth pass of a
younger generation also looks through the older one, up to every object the process holds
(modules, the schema, the app). An import, a TAXII page or an export makes and frees
thousands of records, rows and dataclasses, none of them in a cycle, so those passes find
nothing. Measured:

* an import of 100,000 indicators spent 3.5 s of its 15 s of CPU in the collector;
* a server answering 150 cold TAXII pages and 150 lookups made 550 passes (about 6 % of its
  CPU), four of them over the whole heap, at about 25 ms each.

``settled`` sets the collector for what follows: what the process holds now is frozen
(``gc.freeze``: kept out of every later pass, for good, as it is meant to live as long as
the process), and the youngest generation is collected every ``YOUNG_THRESHOLD`` net
allocations instead of every 700. Cycles are still collected, only less often: at most
about that many container objects wait for the next pass.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_THRESHOLD = 100_000
"""Net container allocations between two passes over the youngest generation."""


@contextmanager
def settled() -> Iterator[None]:
    """Freeze what the process holds, and run the body with young objects collected every
    ``YOUNG_THRESHOLD`` allocations; the threshold is restored afterwards."""
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)

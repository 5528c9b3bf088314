"""The one table ``make bench`` prints: each figure beside its peer or floor from the same run."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table


@dataclass(frozen=True)
class Row:
    """One measured figure, with what it is compared with (measured in the same run).

    ``ours`` and ``previous`` (the previous release, on the same data) and ``peer`` (a
    floor or an outside reference, named by ``peer_name``) are in ``unit``; ``lower_is_better``
    says which way is good. ``goal`` states the target and ``met`` whether it was reached
    (``None``: no goal).
    """

    section: str
    measure: str
    unit: str
    ours: float | None
    previous: float | None = None
    peer_name: str = ""
    peer: float | None = None
    goal: str = ""
    met: bool | None = None
    lower_is_better: bool = True


def median(samples: Sequence[float]) -> float:
    return statistics.median(samples)


def _figure(value: float | None) -> str:
    if value is None:
        return "–"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _ratio(ours: float | None, other: float | None, lower_is_better: bool) -> str:
    """How many times the other figure's cost ours is (above 1: ours costs more)."""
    if ours is None or other is None or ours == 0 or other == 0:
        return "–"
    ratio = ours / other if lower_is_better else other / ours
    return f"{ratio:.2f}×"


def render(rows: Sequence[Row], *, title: str, caption: str) -> Table:
    table = Table(title=title, caption=caption, show_lines=False)
    for name in ("section", "measure", "unit", "ours", "previous", "÷ prev", "peer / floor"):
        table.add_column(name, justify="left" if name in {"section", "measure"} else "right")
    for name in ("value", "÷ peer", "goal", "met"):
        table.add_column(name, justify="right" if name != "goal" else "left")
    for row in rows:
        table.add_row(
            row.section,
            row.measure,
            row.unit,
            _figure(row.ours),
            _figure(row.previous),
            _ratio(row.ours, row.previous, row.lower_is_better),
            row.peer_name,
            _figure(row.peer),
            _ratio(row.ours, row.peer, row.lower_is_better),
            row.goal,
            "" if row.met is None else ("yes" if row.met else "NO"),
        )
    return table


def print_table(rows: Sequence[Row], *, title: str, caption: str) -> None:
    Console(width=200).print(render(rows, title=title, caption=caption))

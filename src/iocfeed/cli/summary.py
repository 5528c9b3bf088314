"""Terminal output shared by commands: progress bars, import summaries, store holdings."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from iocfeed.cli.context import err, out
from iocfeed.ingest import ImportSummary
from iocfeed.services import Services

SHOWN_REJECTIONS = 50


@contextmanager
def progress_bar(total: int | None, label: str) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr; yields a function that advances it."""
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )
    with progress:
        task = progress.add_task(label, total=total)
        yield lambda n: progress.advance(task, n)


def print_summary(summary: ImportSummary, title: str) -> None:
    table = Table(title=title)
    for column in ("added", "updated", "unchanged", "rejected"):
        table.add_column(column, justify="right")
    table.add_row(
        str(summary.added), str(summary.updated), str(summary.unchanged), str(summary.rejected)
    )
    out.print(table)
    for notice in summary.notices:
        out.print(f"  line {notice.line}: {notice.message}", highlight=False, markup=False)
    for rejection in summary.rejections[:SHOWN_REJECTIONS]:
        out.print(f"  line {rejection.line}: {rejection.reason}", highlight=False, markup=False)
    if summary.rejected > SHOWN_REJECTIONS:
        out.print(f"  … and {summary.rejected - SHOWN_REJECTIONS} more rejected (see --errors)")


def print_holdings(built: Services) -> None:
    counts = built.search.counts_by_type()
    table = Table(title=f"{built.settings.database_url} holds")
    table.add_column("type")
    table.add_column("indicators", justify="right")
    for ioc_type, count in counts.items():
        table.add_row(ioc_type.value, str(count))
    table.add_row("total", str(sum(counts.values())), style="bold")
    out.print(table)

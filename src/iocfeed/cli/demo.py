"""``iocfeed demo``: load realistic generated indicators."""

from __future__ import annotations

from itertools import islice
from typing import Annotated

import typer

from iocfeed.cli.context import err, services
from iocfeed.cli.summary import print_holdings, progress_bar
from iocfeed.demo import generate
from iocfeed.ingest import BATCH_SIZE, ImportSummary

app = typer.Typer()


@app.command("demo")
def demo(
    ctx: typer.Context,
    count: Annotated[int, typer.Option(min=1, help="How many indicators to load.")] = 1000,
    seed: Annotated[int, typer.Option(help="The same seed gives the same indicators.")] = 42,
) -> None:
    """Load COUNT realistic indicators across all eleven types (reserved names and ranges only)."""
    built = services(ctx)
    summary = ImportSummary()
    with progress_bar(count, "demo data") as advance:
        generated = generate(count, seed=seed, now=built.clock.now())
        while batch := list(islice(generated, BATCH_SIZE)):
            for outcome in built.indicators.write(batch, built.clock.now()):
                summary.count(outcome)
            advance(len(batch))
    err.print(
        f"demo: {summary.added} added, {summary.updated} updated, {summary.unchanged} unchanged"
    )
    print_holdings(built)

"""False-positive lists: what screening costs an import, and one value's check.

1. ``iocfeed import`` of N generated indicators (JSON Lines, SQLite by default), each in
   its own process on a fresh store: once with every list off, once with every list
   enabled (each MISP list at its default policy, or ``flag`` where that is ``off``, so the
   million-name lists are in too). The ratio is the price of screening, matcher build
   included. Repeated; medians.
2. One value checked against every enabled list: the median and 99th percentile of single
   ``Matcher.check`` calls over the same generated values plus known-listed ones, beside
   the floor measured in the same run: one ``dict`` lookup of the same values.

    python -m bench.warninglist_speed [--count 1000000] [--repeats 3] [--backends sqlite]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.import_speed import fresh_database, migrate, timed, write_jsonl
from iocfeed.demo import generate
from iocfeed.lifecycle.misp_warninglists import misp_catalogue, misp_entries
from iocfeed.lifecycle.warninglist_defaults import BUILTIN_OPERATOR_LISTS, default_policy
from iocfeed.lifecycle.warninglists import Matcher, Origin, Policy, WarningList
from iocfeed.store.engine import open_engine
from iocfeed.store.warninglists import WarninglistStore

LISTED = [
    ("ipv4", "8.8.8.8"),
    ("ipv4", "10.1.2.3"),
    ("domain", "google.com"),
    ("domain", "a.b.dns.google"),
    ("url", "https://www.google.com/search"),
    ("md5", "d41d8cd98f00b204e9800998ecf8427e"),
    ("ipv6", "2001:4860:4860::8888"),
]


def enabled_policy(name: str) -> Policy:
    policy = default_policy(name)
    return Policy.FLAG if policy is Policy.OFF else policy


def set_policies(url: str, *, enabled: bool) -> None:
    """Every MISP list off, or every one enabled (see the module docstring)."""
    engine = open_engine(url)
    store = WarninglistStore(engine)
    now = datetime.now(UTC)
    for name, described in misp_catalogue().items():
        policy = enabled_policy(name) if enabled else Policy.OFF
        store.set_policy(name, Origin.MISP, policy, described.description, now)
    for builtin in BUILTIN_OPERATOR_LISTS:
        policy = builtin.policy if enabled else Policy.OFF
        store.save_operator_list(builtin.name, policy, builtin.description, builtin.entries, now)
    for name, asked in store.due_rechecks():  # an empty store: nothing to re-check
        store.recheck_done(name, asked)
    engine.dispose()


def import_seconds(backend: str, source: Path, workdir: Path, *, enabled: bool) -> float:
    with fresh_database(backend, workdir) as url:
        migrate(url)
        set_policies(url, enabled=enabled)
        env = {**os.environ, "IOCFEED_DATABASE_URL": url, "TERM": "dumb"}
        seconds, _, _ = timed([sys.executable, "-m", "iocfeed", "import", str(source)], env)
    return seconds


def every_list() -> Matcher:
    lists = [
        WarningList(name, enabled_policy(name), Origin.MISP, entries=misp_entries(name))
        for name in misp_catalogue()
    ]
    return Matcher([*lists, *BUILTIN_OPERATOR_LISTS])


def check_times(matcher: Matcher, count: int) -> tuple[list[float], list[float]]:
    """Per-value microseconds of ``check`` and of the floor (one dict lookup)."""
    values = [(item.type, item.value) for item in generate(count, seed=5, now=datetime.now(UTC))]
    from iocfeed.indicators.model import IocType

    values += [(IocType(kind), value) for kind, value in LISTED] * (count // 100)
    floor_table = {value: 1 for _, value in values[::2]}
    check = matcher.check
    clock = time.perf_counter_ns
    ours: list[float] = []
    floor: list[float] = []
    for ioc_type, value in values:
        started = clock()
        check(ioc_type, value)
        middle = clock()
        floor_table.get(value)
        ended = clock()
        ours.append((middle - started) / 1000)
        floor.append((ended - middle) / 1000)
    return ours, floor


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--backends", default="sqlite")
    parser.add_argument("--checks", type=int, default=200_000)
    parser.add_argument("--checks-only", action="store_true", help="skip the imports")
    args = parser.parse_args(argv)
    console = Console()

    console.print("building the matcher with every list enabled …")
    started = time.perf_counter()
    matcher = every_list()
    built_in = time.perf_counter() - started
    ours, floor = check_times(matcher, args.checks)
    quantiles = statistics.quantiles(ours, n=100)
    floor_quantiles = statistics.quantiles(floor, n=100)
    checks = Table(title=f"One value against {len(matcher)} enabled lists ({len(ours):,} values)")
    for column in ("measure", "median µs", "p99 µs", "floor median µs", "floor p99 µs"):
        checks.add_column(column, justify="left" if column == "measure" else "right")
    checks.add_row(
        "Matcher.check (floor: dict.get)",
        f"{statistics.median(ours):.2f}",
        f"{quantiles[98]:.2f}",
        f"{statistics.median(floor):.2f}",
        f"{floor_quantiles[98]:.2f}",
    )
    console.print(checks)
    console.print(f"matcher build with every list: {built_in:.1f} s (once per process)")
    if args.checks_only:
        return

    imports = Table(
        title=f"iocfeed import of {args.count:,} indicators (JSON Lines), {args.repeats} runs",
        caption="whole CLI process, wall time, medians; ratio = enabled / off",
    )
    for column in ("backend", "lists off s", "every list s", "ratio", "runs off", "runs on"):
        imports.add_column(column, justify="left" if column == "backend" else "right")
    with tempfile.TemporaryDirectory(prefix="iocfeed-bench-") as tmp:
        workdir = Path(tmp)
        source = workdir / "indicators.jsonl"
        console.print(f"writing {args.count:,} indicators …")
        write_jsonl(source, args.count)
        for backend in args.backends.split(","):
            off: list[float] = []
            on: list[float] = []
            for repeat in range(args.repeats):
                console.print(f"{backend}: run {repeat + 1} …")
                off.append(import_seconds(backend, source, workdir, enabled=False))
                on.append(import_seconds(backend, source, workdir, enabled=True))
            imports.add_row(
                backend,
                f"{statistics.median(off):.1f}",
                f"{statistics.median(on):.1f}",
                f"{statistics.median(on) / statistics.median(off):.3f}",
                " ".join(f"{s:.1f}" for s in off),
                " ".join(f"{s:.1f}" for s in on),
            )
    console.print(imports)


if __name__ == "__main__":
    main()

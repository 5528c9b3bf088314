"""``make bench-10m``: 10,000,000 indicators on PostgreSQL, printed as the same kind of table.

Import time (``iocfeed import`` of a JSON Lines file), then over HTTP from ``iocfeed serve``:
the first TAXII page (goal under 50 ms), page 9000 (reached by walking with ``next``
tokens, which are signed and cannot be made up), a filtered export (``type=ipv4``,
``since`` the last day), and the server's peak memory. Takes an hour or more and about
15 GB of disk; the schema is dropped afterwards.

    python -m bench --size 10m           (or: python -m bench.tenmillion --count N)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.import_speed import fresh_database, write_jsonl
from bench.releases import CURRENT
from bench.report import Row, median, print_table

COUNT = 10_000_000
PAGE = 1000
ACCEPT = {"Accept": "application/taxii+json;version=2.1"}


def _timed_get(client: httpx.Client, path: str, params: dict[str, Any]) -> float:
    started = time.perf_counter()
    response = client.get(path, params=params)
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return elapsed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=COUNT)
    parser.add_argument("--size", default="10m")
    args = parser.parse_args(argv if argv is not None else sys.argv[1:])
    from iocfeed.taxii.collections import ALL_COLLECTION_ID

    count = args.count
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="iocfeed-bench-") as scratch:
        work = Path(scratch)
        source = work / "indicators.jsonl"
        print(f"writing {count:,} indicators …", file=sys.stderr, flush=True)
        write_jsonl(source, count)
        with fresh_database("postgresql", work) as url:
            CURRENT.run(url, "iocfeed", "db", "upgrade")
            print("importing …", file=sys.stderr, flush=True)
            begun = time.perf_counter()
            CURRENT.run(url, "iocfeed", "import", str(source))
            imported = time.perf_counter() - begun
            key = CURRENT.run(
                url, "iocfeed", "keys", "create", "--plan", "admin", "--name", "bench"
            ).strip()
            objects = f"/taxii2/api/collections/{ALL_COLLECTION_ID}/objects/"
            with (
                CURRENT.server(url) as server,
                httpx.Client(
                    base_url=server.base, headers={"X-API-Key": key, **ACCEPT}, timeout=600
                ) as client,
            ):
                client.get(objects, params={"limit": PAGE}).raise_for_status()
                first = median([_timed_get(client, objects, {"limit": PAGE}) for _ in range(15)])
                print("walking to page 9000 …", file=sys.stderr, flush=True)
                token = None
                for _ in range(8999):
                    params: dict[str, Any] = {"limit": PAGE}
                    if token:
                        params["next"] = token
                    envelope = client.get(objects, params=params).json()
                    token = envelope.get("next")
                    if not token:
                        break
                page_9000 = (
                    median(
                        [
                            _timed_get(client, objects, {"limit": PAGE, "next": token})
                            for _ in range(15)
                        ]
                    )
                    if token
                    else None
                )
                client.headers.pop("Accept")
                since = (datetime.now(UTC) - timedelta(days=1)).isoformat()
                filtered = {"limit": PAGE, "type": "ipv4", "since": since}
                export = median(
                    [_timed_get(client, "/api/v1/export/stix", filtered) for _ in range(15)]
                )
                peak = server.peak_rss_mb()
    rows = [
        Row(
            "import",
            f"{count:,} indicators, PostgreSQL",
            "indicators/s",
            count / imported,
            lower_is_better=False,
        ),
        Row("import", "wall time", "s", imported),
        Row(
            "TAXII",
            "first page (1000)",
            "ms",
            first * 1000,
            goal="< 50 ms",
            met=first * 1000 < 50,
        ),
        Row("TAXII", "page 9000 (next token)", "ms", page_9000 * 1000 if page_9000 else None),
        Row("export", "1000 ipv4 since the last day", "ms", export * 1000),
        Row("server", "peak memory (VmHWM)", "MiB", peak),
    ]
    print_table(
        rows,
        title=f"iocfeed on PostgreSQL, {count:,} indicators, {datetime.now(UTC):%Y-%m-%d}",
        caption=f"medians of 15; run took {time.perf_counter() - started:.0f} s",
    )


if __name__ == "__main__":
    main()

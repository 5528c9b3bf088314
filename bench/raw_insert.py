"""The floor of an import: the same finished rows inserted raw, nothing else.

Rows are built (normalised, with ids, times and their stored STIX JSON) before the clock
starts; the timed part is the inserts, one transaction per 5,000 rows, into the schema
``iocfeed db upgrade`` made: ``executemany`` on SQLite, ``COPY`` on PostgreSQL (the fastest
way in on each). Run as its own process; prints the timed seconds on stdout.

    python -m bench.raw_insert FILE.jsonl
"""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from iocfeed.formats.detect import Format
from iocfeed.formats.reader import read_records
from iocfeed.indicators.merge import new_indicator
from iocfeed.indicators.model import RawIndicator
from iocfeed.indicators.normalize import RecordDefaults, normalize_record
from iocfeed.stix.ids import new_stix_id
from iocfeed.stix.stored import stored_json
from iocfeed.store.engine import open_engine
from iocfeed.store.rows import indicator_to_row
from iocfeed.store.schema import indicator_versions

BATCH = 5000


def main() -> None:
    source = Path(sys.argv[1])
    now = datetime.now(UTC)
    columns = [c.name for c in indicator_versions.columns if c.name != "seq"]
    rows = []
    with source.open(encoding="utf-8") as stream:
        for index, record in enumerate(read_records(stream, Format.JSONL)):
            assert isinstance(record, RawIndicator)
            ioc = normalize_record(record, RecordDefaults())
            indicator = new_indicator(ioc, new_stix_id(ioc.type), now)
            row = indicator_to_row(indicator)
            row["date_added"] += index
            row["superseded_at"] = None
            row["stix_json"] = stored_json(indicator)
            rows.append(tuple(row[name] for name in columns))
    engine = open_engine(os.environ["IOCFEED_DATABASE_URL"])
    connection = engine.raw_connection()
    sqlite = engine.dialect.name == "sqlite"
    marker = "?" if sqlite else "%s"
    insert = (
        f"INSERT INTO indicator_versions ({', '.join(columns)}) "
        f"VALUES ({', '.join([marker] * len(columns))})"
    )
    copy = f"COPY indicator_versions ({', '.join(columns)}) FROM STDIN"
    started = time.perf_counter()
    for start in range(0, len(rows), BATCH):
        cursor = connection.cursor()
        if sqlite:
            cursor.execute("BEGIN")
            cursor.executemany(insert, rows[start : start + BATCH])
        else:
            with cursor.copy(copy) as writer:  # type: ignore[attr-defined]
                for row in rows[start : start + BATCH]:
                    writer.write_row(row)
        connection.commit()
    seconds = time.perf_counter() - started
    connection.close()
    print(seconds)  # the parent reads the timed part from stdout


if __name__ == "__main__":
    main()

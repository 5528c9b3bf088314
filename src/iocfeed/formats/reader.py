"""One entry point for every import format: a stream and its format in, raw records out."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TextIO

from iocfeed.formats.delimited import read_csv
from iocfeed.formats.detect import Format
from iocfeed.formats.jsonarray import read_json_array
from iocfeed.formats.jsonlines import read_jsonl
from iocfeed.formats.stixbundle import read_stix
from iocfeed.formats.text import read_text
from iocfeed.indicators.model import Notice, RawIndicator, Rejected

Reader = Callable[[Iterable[str]], Iterator[RawIndicator | Rejected | Notice]]

READERS: dict[Format, Reader] = {
    Format.CSV: read_csv,
    Format.JSON: read_json_array,
    Format.JSONL: read_jsonl,
    Format.STIX: read_stix,
    Format.TEXT: read_text,
}


def read_records(stream: TextIO, fmt: Format) -> Iterator[RawIndicator | Rejected | Notice]:
    """The records of an open text stream in format ``fmt``, lazily where the format allows.

    CSV, JSON Lines and text are read line by line; JSON arrays and STIX bundles are parsed
    whole. Line numbers are physical lines, or item numbers for JSON arrays and STIX bundles.
    """
    return READERS[fmt](stream)

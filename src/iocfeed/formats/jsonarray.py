"""JSON import: an array of indicator objects, or an object holding one under ``indicators``.

The document is parsed whole. Line numbers in the results are 1-based item numbers in the
array, except for a document that is not JSON at all, whose one ``Rejected`` carries the
physical line of the syntax error. A single indicator object is read as a one-item array.
A STIX bundle (an object with ``"type": "bundle"``) is read as STIX whatever the file was
taken for: detection sees only the head of a file, and a bundle written with sorted keys
names its type last. Field rules: ``iocfeed.formats.jsonrecord``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import orjson

from iocfeed.formats.fields import whole_text
from iocfeed.formats.jsonrecord import json_kind, record_from_json
from iocfeed.formats.stixbundle import STIX_BUNDLE, records_from_objects
from iocfeed.indicators.model import RawIndicator, Rejected


def read_json_array(source: Iterable[str]) -> Iterator[RawIndicator | Rejected]:
    """Each item of a JSON indicator array as a raw indicator, or why it is not one."""
    try:
        document = orjson.loads(whole_text(source))
    except orjson.JSONDecodeError as exc:
        yield Rejected(
            exc.lineno, f"not valid JSON: {exc.msg} at column {exc.colno}", whole_file=True
        )
        return
    if isinstance(document, dict):
        if document.get("type") == STIX_BUNDLE:
            objects = document.get("objects")
            yield from records_from_objects(objects if isinstance(objects, list) else [])
            return
        if "indicators" in document:
            document = document["indicators"]
        elif "value" in document:
            document = [document]
    if not isinstance(document, list):
        yield Rejected(
            1,
            f"expected an array of indicator objects or an object with indicators, "
            f"got {json_kind(document)}",
            whole_file=True,
        )
        return
    for item_number, item in enumerate(document, start=1):
        yield record_from_json(item_number, item)

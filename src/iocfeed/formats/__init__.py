"""Import readers: CSV, JSON, JSON Lines, STIX bundles and free text into raw indicator records.

Every reader turns already-open text into ``Iterator[RawIndicator | Rejected]``; nothing here
opens files or validates values (``iocfeed.indicators.normalize`` does that afterwards).
Start at ``iocfeed.formats.reader.read_records`` and ``iocfeed.formats.detect.detect_format``.
"""

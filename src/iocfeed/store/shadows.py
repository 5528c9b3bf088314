"""Writers' shadows: what loads withheld from a writer made, kept for that writer alone.

A load whose indicator is above its writer's TLP ceiling changes nothing real
(``indicators.merge``); it merges into the writer's shadow of the value instead, by the
ordinary rules, so its answer is the one a real store would give and depends on nothing but
what that writer sent. Shadows are read only for withheld loads, inside the write
transaction that withholds them, and never served.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime

import orjson
from sqlalchemy import Connection, and_, bindparam, delete, insert, select

from iocfeed.indicators.merge import Merge, Writer, merge
from iocfeed.indicators.model import Indicator, IndicatorInput, IocType
from iocfeed.store.rows import indicator_to_row, row_to_indicator, to_us
from iocfeed.store.schema import DECODED_COLUMNS
from iocfeed.store.schema import indicator_shadows as shadows

_Key = tuple[IocType, str]
_VERSION_COLUMNS = tuple(column.name for column in DECODED_COLUMNS)
# Shadows asked for per statement: well below both databases' bound-parameter limits.
_LOOKUP_CHUNK = 1000


def answer_withheld(
    connection: Connection,
    writer: Writer,
    inputs: Sequence[IndicatorInput],
    now: datetime,
    new_stix_id: Callable[[IndicatorInput], str],
) -> list[Merge]:
    """Merge each withheld input, in order, into ``writer``'s shadow of its value and save
    the shadows; one result per input: the outcome to answer and the shadow it left."""
    state: dict[_Key, Indicator | None] = dict(
        _read(connection, writer.id, {(i.type, i.value) for i in inputs})
    )
    results = []
    for incoming in inputs:
        key = (incoming.type, incoming.value)
        result = merge(state.get(key), incoming, now, new_stix_id)
        state[key] = result.indicator
        results.append(result)
    _save(connection, writer.id, state, now)
    return results


def _read(connection: Connection, writer_id: str, keys: set[_Key]) -> dict[_Key, Indicator]:
    by_type: dict[IocType, list[str]] = defaultdict(list)
    for ioc_type, value in keys:
        by_type[ioc_type].append(value)
    found: dict[_Key, Indicator] = {}
    for ioc_type, values in by_type.items():
        for start in range(0, len(values), _LOOKUP_CHUNK):
            rows = connection.execute(
                select(shadows.c.state).where(
                    shadows.c.writer == writer_id,
                    shadows.c.type == ioc_type.value,
                    shadows.c.value.in_(values[start : start + _LOOKUP_CHUNK]),
                )
            )
            for (state,) in rows:
                indicator = _from_json(state)
                found[(indicator.type, indicator.value)] = indicator
    return found


def _save(
    connection: Connection, writer_id: str, state: dict[_Key, Indicator | None], now: datetime
) -> None:
    rows = [
        {
            "b_writer": writer_id,
            "b_type": ioc_type.value,
            "b_value": value,
            "state": _to_json(indicator),
            "updated": to_us(now),
        }
        for (ioc_type, value), indicator in state.items()
        if indicator is not None
    ]
    # Writers are serialised on the write clock, so replacing a row cannot race another.
    connection.execute(
        delete(shadows).where(
            and_(
                shadows.c.writer == bindparam("b_writer"),
                shadows.c.type == bindparam("b_type"),
                shadows.c.value == bindparam("b_value"),
            )
        ),
        [{k: row[k] for k in ("b_writer", "b_type", "b_value")} for row in rows],
    )
    connection.execute(
        insert(shadows).values(
            writer=bindparam("b_writer"), type=bindparam("b_type"), value=bindparam("b_value")
        ),
        rows,
    )


def _to_json(indicator: Indicator) -> str:
    return orjson.dumps(indicator_to_row(indicator)).decode()


def _from_json(state: str) -> Indicator:
    row = orjson.loads(state)
    return row_to_indicator([row.get(column, 0) for column in _VERSION_COLUMNS])

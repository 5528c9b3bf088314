"""Small builders of indicator values for tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from iocfeed.indicators.model import Confidence, IndicatorInput, IocType

T0 = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)


def ioc(
    ioc_type: IocType | str = IocType.DOMAIN, value: str = "evil.example", **fields: Any
) -> IndicatorInput:
    fields.setdefault("confidence", Confidence.MEDIUM)
    return IndicatorInput(type=IocType(ioc_type), value=value, **fields)

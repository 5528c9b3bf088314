"""The outside judges every STIX output in these tests must satisfy."""

from __future__ import annotations

from typing import Any

import stix2
from stix2patterns.validator import run_validator
from stix2validator import ValidationOptions, validate_parsed_json


def validation_messages(bundle: dict[str, Any]) -> list[str]:
    """Every error and warning the OASIS validator reports for ``bundle``."""
    result = validate_parsed_json(bundle, ValidationOptions(version="2.1"))
    results = result if isinstance(result, list) else [result]
    messages: list[str] = []
    for one in results:
        messages.extend(f"error: {error}" for error in one.errors)
        messages.extend(f"warning: {warning}" for warning in one.warnings)
        messages.extend(
            f"{obj.object_id}: {message}"
            for obj in getattr(one, "object_results", [])
            for message in [*obj.errors, *obj.warnings]
        )
    return messages


def assert_stix_clean(bundle: dict[str, Any]) -> None:
    """No validator error or warning, ``stix2`` parses it strictly, every pattern parses."""
    assert validation_messages(bundle) == []
    # version= spares stix2 guessing it from the objects, which fails on an empty bundle.
    assert stix2.parse(bundle, allow_custom=False, version="2.1").id == bundle["id"]
    for obj in bundle.get("objects", []):
        if obj["type"] == "indicator":
            assert run_validator(obj["pattern"]) == []

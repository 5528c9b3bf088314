"""Merge and versioning rules of SPEC §1, as pure functions."""

from __future__ import annotations

import itertools
from datetime import timedelta

from iocfeed.indicators.merge import (
    Outcome,
    merge,
    millisecond_precision,
    next_modified,
    revoke,
)
from iocfeed.indicators.model import Confidence, Tlp
from tests.factories import T0, ioc

_ids = itertools.count()


def new_id(_type: object) -> str:
    return f"indicator--00000000-0000-4000-8000-{next(_ids):012d}"


def test_first_load_creates_version_with_fresh_id() -> None:
    result = merge(None, ioc(tags=("emotet",)), T0, new_id)
    assert result.outcome is Outcome.ADDED
    assert result.indicator.created == result.indicator.modified == millisecond_precision(T0)
    assert result.indicator.first_seen == millisecond_precision(T0)
    assert result.indicator.tags == ("emotet",)


def test_same_input_again_is_unchanged() -> None:
    first = merge(None, ioc(tags=("a",)), T0, new_id).indicator
    again = merge(first, ioc(tags=("a",)), T0 + timedelta(hours=1), new_id)
    assert again.outcome is Outcome.UNCHANGED
    assert again.indicator == first


def test_visible_change_is_new_version_with_same_id_and_later_modified() -> None:
    first = merge(None, ioc(tags=("a",)), T0, new_id).indicator
    later = T0 + timedelta(minutes=5)
    result = merge(first, ioc(tags=("b",), confidence=Confidence.HIGH), later, new_id)
    assert result.outcome is Outcome.UPDATED
    assert result.indicator.stix_id == first.stix_id
    assert result.indicator.tags == ("a", "b")  # union, first-seen order
    assert result.indicator.confidence is Confidence.HIGH  # the newer source decides
    assert result.indicator.modified == millisecond_precision(later)
    assert result.indicator.created == first.created


def test_invisible_change_updates_in_place_without_new_version() -> None:
    first = merge(None, ioc(last_seen=T0), T0, new_id).indicator
    seen_later = T0 + timedelta(days=2)
    result = merge(first, ioc(last_seen=seen_later, source="honeypot"), T0, new_id)
    assert result.outcome is Outcome.UNCHANGED
    assert result.indicator.last_seen == seen_later
    assert result.indicator.source == "honeypot"
    assert result.indicator.modified == first.modified


def test_first_seen_is_earliest_and_last_seen_latest() -> None:
    first = merge(None, ioc(first_seen=T0, last_seen=T0), T0, new_id).indicator
    earlier = T0 - timedelta(days=3)
    result = merge(first, ioc(first_seen=earlier, last_seen=earlier), T0, new_id)
    assert result.indicator.first_seen == earlier
    assert result.indicator.last_seen == T0
    assert result.outcome is Outcome.UPDATED  # valid_from is visible in STIX


def test_operator_tlp_is_kept_when_a_later_source_states_none() -> None:
    first = merge(None, ioc(tlp=Tlp.RED), T0, new_id).indicator
    result = merge(first, ioc(), T0, new_id)
    assert result.indicator.tlp is Tlp.RED
    assert result.outcome is Outcome.UNCHANGED


def test_modified_strictly_increases_within_one_millisecond() -> None:
    first = merge(None, ioc(), T0, new_id).indicator
    second = merge(first, ioc(tags=("x",)), T0, new_id).indicator
    third = merge(second, ioc(tags=("y",)), T0, new_id).indicator
    assert first.modified < second.modified < third.modified
    assert next_modified(third.modified, T0) == third.modified + timedelta(milliseconds=1)


def test_revoke_publishes_revoked_version_and_reload_starts_a_new_object() -> None:
    first = merge(None, ioc(), T0, new_id).indicator
    revoked = revoke(first, T0 + timedelta(hours=1))
    assert revoked.revoked and revoked.stix_id == first.stix_id
    assert revoked.modified > first.modified
    revived = merge(revoked, ioc(), T0 + timedelta(hours=2), new_id)
    assert revived.outcome is Outcome.ADDED
    assert revived.indicator.stix_id != first.stix_id
    assert not revived.indicator.revoked


def test_revoked_input_on_revoked_indicator_is_unchanged() -> None:
    revoked = revoke(merge(None, ioc(), T0, new_id).indicator, T0)
    assert merge(revoked, ioc(revoked=True), T0, new_id).outcome is Outcome.UNCHANGED


def test_effective_tlp_comes_from_confidence_unless_set() -> None:
    high = merge(None, ioc(confidence=Confidence.HIGH), T0, new_id).indicator
    low = merge(None, ioc(confidence=Confidence.LOW), T0, new_id).indicator
    medium_red = merge(None, ioc(tlp=Tlp.RED), T0, new_id).indicator
    assert (high.effective_tlp, low.effective_tlp, medium_red.effective_tlp) == (
        Tlp.GREEN,
        Tlp.CLEAR,
        Tlp.RED,
    )


def test_a_load_over_an_indicator_above_the_writers_ceiling_is_withheld() -> None:
    red = merge(None, ioc(tlp=Tlp.RED, tags=("apt",)), T0, new_id).indicator
    later = T0 + timedelta(hours=1)
    for incoming in (ioc(tlp=Tlp.CLEAR), ioc(revoked=True), ioc(tags=("x",), last_seen=later)):
        result = merge(red, incoming, later, new_id, ceiling=Tlp.AMBER_STRICT)
        assert result.outcome is Outcome.WITHHELD
        assert result.indicator == red
    # The TLP that counts is the current one, whether set or derived from the confidence.
    amber = merge(None, ioc(confidence=Confidence.MEDIUM), T0, new_id).indicator
    assert merge(amber, ioc(), later, new_id, ceiling=Tlp.GREEN).outcome is Outcome.WITHHELD
    assert merge(amber, ioc(tlp=Tlp.RED), later, new_id, ceiling=Tlp.AMBER).outcome is (
        Outcome.UPDATED
    )
    assert merge(red, ioc(tlp=Tlp.CLEAR), later, new_id).outcome is Outcome.UPDATED

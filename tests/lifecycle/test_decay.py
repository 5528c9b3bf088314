"""Decay models: the curve, its inverse, when a version is published, and what never decays."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from iocfeed.config import Settings
from iocfeed.indicators.merge import Merge, Outcome, new_indicator
from iocfeed.indicators.model import Confidence, Indicator, IocType, Tlp
from iocfeed.lifecycle.decay import DecayModel, DecayPolicy
from iocfeed.services import decay_policy
from tests.factories import T0, ioc

POLICY = decay_policy(Settings())
DAY = timedelta(days=1)


def stored(ioc_type: IocType, value: str, *, seen_days_ago: float, **fields: object) -> Indicator:
    seen = T0 - timedelta(days=seen_days_ago)
    item = ioc(ioc_type, value, first_seen=seen, last_seen=seen, **fields)
    return POLICY.stamp(new_indicator(item, "indicator--x", seen), seen)


@pytest.mark.parametrize("speed", [0.5, 1.0, 2.0])
def test_time_to_is_the_inverse_of_the_curve(speed: float) -> None:
    model = DecayModel(lifetime=timedelta(days=30), speed=speed, threshold=10)
    for score in (80, 50, 20, 10, 1):
        elapsed = model.time_to(85, score)
        assert model.score(85, elapsed) == pytest.approx(score, abs=1e-6)
    assert model.score(85, timedelta(0)) == 85
    assert model.score(85, timedelta(days=30)) == 0
    assert model.score(85, timedelta(days=-3)) == 85  # last_seen in the future


def test_linear_curve_halfway_is_half_the_base() -> None:
    model = DecayModel(lifetime=timedelta(days=100), speed=1.0)
    assert model.score(50, timedelta(days=50)) == pytest.approx(25)


def test_default_lifetimes_order_addresses_urls_domains_hashes() -> None:
    def revocation_days(ioc_type: IocType) -> float:
        item = stored(ioc_type, "x", seen_days_ago=0, confidence=Confidence.HIGH)
        assert item.decay_until is not None
        return (item.decay_until - item.last_seen) / DAY

    ip, url, domain, sha256 = (
        revocation_days(t) for t in (IocType.IPV4, IocType.URL, IocType.DOMAIN, IocType.SHA256)
    )
    assert 7 < ip < url < 60 < domain < 365 and domain < sha256 <= 365


@pytest.mark.parametrize("ioc_type", [IocType.CVE, IocType.MITRE_ATTACK])
def test_cves_and_techniques_do_not_decay(ioc_type: IocType) -> None:
    value = "CVE-2024-3094" if ioc_type is IocType.CVE else "T1059"
    item = stored(ioc_type, value, seen_days_ago=5000, confidence=Confidence.HIGH)
    assert (item.score, item.decay_until, item.decay_next, item.revoked) == (85, None, None, False)
    assert POLICY.moved(item, T0 + 1000 * DAY) is None


def test_an_ip_seen_60_days_ago_is_revoked_and_one_seen_today_is_not() -> None:
    fresh = stored(IocType.IPV4, "203.0.113.7", seen_days_ago=0, confidence=Confidence.HIGH)
    old = replace(fresh, last_seen=T0 - 60 * DAY, first_seen=T0 - 60 * DAY)
    moved = POLICY.moved(old, T0)
    assert moved is not None and moved.revoked
    assert moved.score is not None and moved.score < 10
    assert moved.modified > old.modified
    assert POLICY.moved(fresh, T0) is None


def test_a_version_is_published_only_when_the_score_moves_by_the_step() -> None:
    item = stored(IocType.DOMAIN, "evil.example", seen_days_ago=0, confidence=Confidence.HIGH)
    assert item.score == 85 and item.decay_next is not None
    just_before = item.decay_next - timedelta(seconds=2)
    assert POLICY.moved(item, just_before) is None
    moved = POLICY.moved(item, item.decay_next)
    assert moved is not None and moved.score == 75 and not moved.revoked
    # Same anchor, so the predicted revocation (valid_until) does not move.
    assert moved.decay_until == item.decay_until
    assert moved.decay_next is not None and moved.decay_next > item.decay_next


def test_a_coarser_step_publishes_fewer_versions() -> None:
    coarse = replace(POLICY, step=30)
    item = coarse.stamp(
        new_indicator(ioc(IocType.URL, "http://x.example/", confidence=Confidence.HIGH), "i", T0),
        T0,
    )
    seen: list[int] = []
    now = T0
    while item.decay_next is not None:
        now = item.decay_next
        moved = coarse.moved(item, now)
        assert moved is not None
        assert moved.score is not None
        seen.append(moved.score)
        item = moved
    assert seen[:-1] == [55, 25] and item.revoked  # then revoked below the threshold


def test_the_revocation_time_is_when_the_score_crosses_the_threshold() -> None:
    item = stored(IocType.IPV4, "198.51.100.1", seen_days_ago=0, confidence=Confidence.MEDIUM)
    assert item.decay_until is not None
    model = POLICY.models[IocType.IPV4]
    assert model.score(50, item.decay_until - item.last_seen) == pytest.approx(model.threshold)
    assert (
        POLICY.moved(item, item.decay_until - timedelta(seconds=1)) is None
        or not (
            POLICY.moved(item, item.decay_until - timedelta(seconds=1))  # type: ignore[union-attr]
        ).revoked
    )
    revoked = POLICY.moved(item, item.decay_until)
    assert revoked is not None and revoked.revoked


def test_a_re_sighting_restarts_the_curve() -> None:
    item = stored(IocType.IPV4, "192.0.2.9", seen_days_ago=10, confidence=Confidence.HIGH)
    decayed = POLICY.moved(item, T0)
    assert decayed is not None and decayed.score is not None and decayed.score < 85
    seen_again = replace(decayed, last_seen=T0)
    result = POLICY.rescore(decayed, Merge(Outcome.UNCHANGED, seen_again), T0)
    assert result.outcome is Outcome.UPDATED
    assert result.indicator.score == 85
    assert result.indicator.decay_until is not None
    assert result.indicator.decay_until > T0 + 7 * DAY


def test_a_re_sighting_within_step_and_slack_makes_no_version() -> None:
    item = stored(IocType.SHA256, "a" * 64, seen_days_ago=0, confidence=Confidence.HIGH)
    later = T0 + timedelta(hours=2)
    result = POLICY.rescore(item, Merge(Outcome.UNCHANGED, replace(item, last_seen=later)), later)
    assert result.outcome is Outcome.UNCHANGED


def test_penalty_lowers_the_base_and_brings_revocation_forward() -> None:
    item = stored(IocType.DOMAIN, "x.example", seen_days_ago=0, confidence=Confidence.HIGH)
    penalised = POLICY.stamp(replace(item, penalty=25), T0)
    assert penalised.score == 60
    assert penalised.decay_until is not None and item.decay_until is not None
    assert penalised.decay_until < item.decay_until


def test_decay_keeps_the_tlp_chosen_at_creation() -> None:
    item = stored(IocType.IPV4, "203.0.113.8", seen_days_ago=20, confidence=Confidence.HIGH)
    moved = POLICY.moved(item, T0)
    assert moved is not None and moved.score is not None and moved.score < 50
    assert moved.effective_tlp is item.effective_tlp is Tlp.GREEN


def test_a_policy_without_models_never_decays() -> None:
    item = new_indicator(ioc(IocType.IPV4, "192.0.2.1"), "i", T0)
    assert DecayPolicy().stamp(item, T0).score == 50
    assert DecayPolicy().moved(DecayPolicy().stamp(item, T0), T0 + 1000 * DAY) is None


def test_a_stale_report_does_not_restart_a_revoked_indicator() -> None:
    old = T0 - 200 * DAY
    item = ioc(IocType.DOMAIN, "stale.example", first_seen=old, last_seen=old)
    first = POLICY.rescore(None, Merge(Outcome.ADDED, new_indicator(item, "i1", T0)), T0)
    # A load does not revoke; it leaves the indicator due for the sweep, which does.
    assert first.outcome is Outcome.ADDED and not first.indicator.revoked
    assert first.indicator.decay_next == T0
    revoked = POLICY.moved(first.indicator, T0)
    assert revoked is not None and revoked.revoked
    again = POLICY.rescore(revoked, Merge(Outcome.ADDED, new_indicator(item, "i2", T0)), T0 + DAY)
    assert again.outcome is Outcome.UNCHANGED and again.indicator is revoked
    fresh = ioc(IocType.DOMAIN, "stale.example", last_seen=T0)
    restarted = POLICY.rescore(
        first.indicator, Merge(Outcome.ADDED, new_indicator(fresh, "i3", T0)), T0
    )
    assert restarted.outcome is Outcome.ADDED and not restarted.indicator.revoked

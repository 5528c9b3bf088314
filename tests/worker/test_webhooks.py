"""Webhook delivery against a real receiver on loopback, on SQLite and PostgreSQL: signed,
retried with backoff and delivered once, in order, obeying the owner's plan; disabled after
repeated failures with the reason; refused for private addresses unless allowed."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from iocfeed.accounts.model import AccountStatus, Narrowing
from iocfeed.clock import FixedClock
from iocfeed.event_feed import current_position
from iocfeed.indicators.model import Confidence, IndicatorInput, IocType, Tlp
from iocfeed.push.events import ALL_KINDS, EventKind
from iocfeed.push.model import DeliveryStatus, Webhook
from iocfeed.push.signatures import new_salt, webhook_secret
from iocfeed.services import Services
from iocfeed.store.engine import open_engine
from iocfeed.store.migrate import upgrade
from iocfeed.worker.webhooks import WebhookDispatcher
from tests.conftest import postgres_url
from tests.worker.conftest import Receiver, make_services


class Site:
    def __init__(self, services: Services, clock: FixedClock) -> None:
        self.services = services
        self.clock = clock
        self.dispatcher = WebhookDispatcher(
            services.settings,
            clock,
            services.webhooks,
            services.keys,
            services.search,
            services.producer,
            services.tokens.secret,
            jitter=lambda: 0.0,
        )

    def webhook(
        self,
        url: str,
        plan: str = "pro",
        events: frozenset[EventKind] = ALL_KINDS,
        narrowing: Narrowing | None = None,
    ) -> tuple[Webhook, str]:
        key, _secret = self.services.keys.create(
            name="hooks", plan=plan, now=self.clock.now(), narrowing=narrowing
        )
        salt = new_salt()
        made = self.services.webhooks.add(
            account_id=key.account_id,
            key_id=key.key_id,
            url=url,
            events=events,
            secret_salt=salt,
            position=current_position(self.services.search),
            now=self.clock.now(),
            most=10,
        )
        return made, webhook_secret(self.services.tokens.secret(), salt)

    def write(self, *values: str, **fields: object) -> None:
        inputs = [IndicatorInput(type=IocType.DOMAIN, value=v, **fields) for v in values]  # type: ignore[arg-type]
        self.services.indicators.write(inputs, self.clock.now())

    def later(self, seconds: float) -> datetime:
        self.clock.advance(seconds=seconds)
        return self.clock.now()


@pytest.fixture
def site(database_url: str) -> Iterator[Site]:
    services, clock = make_services(
        database_url, webhook_backoff_seconds=10, webhook_disable_after=4, webhook_batch_size=3
    )
    built = Site(services, clock)
    yield built
    built.dispatcher.close()
    services.close()


def test_failed_twice_then_delivered_once_in_order(site: Site, receiver: Receiver) -> None:
    webhook, receiver.secret = site.webhook(f"{receiver.base}/hook")
    receiver.failures = 2
    site.write("a.example", "b.example", "c.example", "d.example")
    site.later(1)
    site.services.indicators.revoke(IocType.DOMAIN, "a.example", site.clock.now())

    assert site.dispatcher.run_due() == 0  # first attempt: 500
    assert site.dispatcher.run_due() == 0  # not due: backing off
    delivery = site.services.webhooks.deliveries(webhook.webhook_id, limit=10)[0]
    assert (delivery.status, delivery.attempts, delivery.response_status) == (
        DeliveryStatus.PENDING,
        1,
        500,
    )
    assert delivery.last_error == "HTTP 500 Internal Server Error"
    # Waits grow: 5 s after the first failure (base 10, jitter 0), 10 s after the second.
    state = site.services.webhooks.get(webhook.webhook_id)
    assert state.next_attempt - site.clock.now() == timedelta(seconds=5)
    site.later(5)
    assert site.dispatcher.run_due() == 0  # second attempt: 500
    state = site.services.webhooks.get(webhook.webhook_id)
    assert state.next_attempt - site.clock.now() == timedelta(seconds=10)
    site.later(10)
    assert site.dispatcher.run_due() == 2  # the third attempt, then the next batch
    assert receiver.refused_signatures == 0
    assert receiver.requests == 4
    kinds = [event["type"] for body in receiver.accepted for event in body["events"]]
    values = [event["indicator"]["value"] for body in receiver.accepted for event in body["events"]]
    assert values == ["a.example", "b.example", "c.example", "d.example", "a.example"]
    assert kinds == ["indicator.created"] * 4 + ["indicator.revoked"]
    assert len(set(receiver.event_ids)) == 5
    assert [len(body["events"]) for body in receiver.accepted] == [3, 2]
    first, second = receiver.accepted
    assert first["delivery_id"] < second["delivery_id"]
    assert first["events"][0]["object"]["type"] == "indicator"
    assert second["events"][-1]["object"]["revoked"] is True
    logged = site.services.webhooks.deliveries(webhook.webhook_id, limit=10)
    assert [(d.status, d.attempts) for d in logged] == [
        (DeliveryStatus.DELIVERED, 1),
        (DeliveryStatus.DELIVERED, 3),
    ]
    # Nothing new: nothing sent again.
    site.later(60)
    assert site.dispatcher.run_due() == 0
    assert receiver.requests == 4


def test_events_obey_the_owners_plan_and_choice(site: Site, receiver: Receiver) -> None:
    _webhook, receiver.secret = site.webhook(
        f"{receiver.base}/hook", plan="pro", events=frozenset({EventKind.CREATED})
    )
    site.write("green.example", confidence=Confidence.HIGH)  # green
    site.write("amber.example", confidence=Confidence.MEDIUM)  # amber: the pro plan's highest
    site.write("red.example", tlp=Tlp.RED, confidence=Confidence.HIGH)  # above it
    site.later(1)
    site.write("green.example", confidence=Confidence.HIGH, tags=("new",))  # updated
    site.services.indicators.revoke(IocType.DOMAIN, "green.example", site.clock.now())
    site.write("clear.example", confidence=Confidence.LOW)
    assert site.dispatcher.run_due() == 2  # batches of 3 versions: 2 wanted, then 1
    values = [event["indicator"]["value"] for body in receiver.accepted for event in body["events"]]
    assert values == ["green.example", "amber.example", "clear.example"]


def test_a_plan_without_the_scope_disables_the_webhook(site: Site, receiver: Receiver) -> None:
    webhook, receiver.secret = site.webhook(f"{receiver.base}/hook", plan="free")
    site.write("a.example")
    assert site.dispatcher.run_due() == 0
    state = site.services.webhooks.get(webhook.webhook_id)
    assert state.disabled_reason == "disabled: its key's grant lacks the write:webhooks scope"


def test_disabled_after_repeated_failures_with_the_reason(site: Site, receiver: Receiver) -> None:
    webhook, receiver.secret = site.webhook(f"{receiver.base}/hook")
    receiver.failures = 100
    receiver.fail = 503
    site.write("a.example")
    for _ in range(4):
        site.dispatcher.run_due()
        site.later(3600)
    state = site.services.webhooks.get(webhook.webhook_id)
    assert not state.enabled
    assert state.disabled_reason is not None
    assert "4 failed delivery attempts in a row" in state.disabled_reason
    assert "HTTP 503" in state.disabled_reason
    assert receiver.requests == 4
    site.dispatcher.run_due()
    assert receiver.requests == 4  # disabled: no more attempts
    # Enabled again, the pending delivery goes out; nothing was lost.
    receiver.failures = 0
    site.services.webhooks.enable(webhook.webhook_id, webhook.account_id, site.clock.now())
    assert site.dispatcher.run_due() == 1
    assert [e["indicator"]["value"] for e in receiver.accepted[0]["events"]] == ["a.example"]


def test_redirects_are_not_followed(site: Site, receiver: Receiver) -> None:
    webhook, receiver.secret = site.webhook(f"{receiver.base}/redirect")
    site.write("a.example")
    assert site.dispatcher.run_due() == 0
    delivery = site.services.webhooks.deliveries(webhook.webhook_id, limit=1)[0]
    assert delivery.response_status == 307
    assert delivery.last_error is not None
    assert "redirects are not followed" in delivery.last_error
    assert receiver.requests == 0  # the redirect's target was never asked


@pytest.mark.parametrize(
    "host", ["localhost", "127.0.0.1", "[::ffff:127.0.0.1]", "169.254.169.254", "10.0.0.1"]
)
def test_private_addresses_are_refused_unless_allowed(
    database_url: str, receiver: Receiver, host: str
) -> None:
    services, clock = make_services(database_url, webhook_allowed_networks=[])
    site = Site(services, clock)
    try:
        port = receiver.base.rsplit(":", 1)[1]
        webhook, receiver.secret = site.webhook(f"http://{host}:{port}/hook")
        site.write("a.example")
        assert site.dispatcher.run_due() == 0
        delivery = services.webhooks.deliveries(webhook.webhook_id, limit=1)[0]
        assert delivery.last_error is not None
        assert delivery.last_error.startswith("refused: ")
        assert delivery.response_status is None
        assert receiver.requests == 0
    finally:
        site.dispatcher.close()
        services.close()


def test_a_revoked_owner_key_disables_the_webhook(site: Site, receiver: Receiver) -> None:
    webhook, receiver.secret = site.webhook(f"{receiver.base}/hook")
    site.services.keys.revoke(webhook.key_id, site.clock.now())
    site.write("a.example")
    assert site.dispatcher.run_due() == 0
    state = site.services.webhooks.get(webhook.webhook_id)
    assert not state.enabled
    assert state.disabled_reason == "disabled: the API key that made it was revoked"
    assert receiver.requests == 0


def test_the_keys_narrowing_applies_and_a_suspended_account_waits(
    site: Site, receiver: Receiver
) -> None:
    webhook, receiver.secret = site.webhook(
        f"{receiver.base}/hook", plan="enterprise", narrowing=Narrowing(max_tlp=Tlp.GREEN)
    )
    store = site.services.accounts.accounts
    store.set_status(webhook.account_id, AccountStatus.SUSPENDED)
    site.write("green.example", confidence=Confidence.HIGH)
    site.write("amber.example", confidence=Confidence.MEDIUM)  # above the key's narrowing
    assert site.dispatcher.run_due() == 0
    assert receiver.requests == 0
    assert site.services.webhooks.get(webhook.webhook_id).enabled  # waiting, not disabled
    store.set_status(webhook.account_id, AccountStatus.ACTIVE)
    site.later(60)
    assert site.dispatcher.run_due() == 1
    values = [e["indicator"]["value"] for body in receiver.accepted for e in body["events"]]
    assert values == ["green.example"]


def test_two_workers_on_postgresql_deliver_each_event_once(
    postgres_schema: str, receiver: Receiver
) -> None:
    url = postgres_url(postgres_schema)
    engine = open_engine(url)
    upgrade(engine)
    engine.dispose()
    sites = [Site(*make_services(url, webhook_batch_size=5)) for _ in range(2)]
    first = sites[0]
    hooks = [first.webhook(f"{receiver.base}/hook") for _ in range(3)]
    receiver.secret = hooks[0][1]
    receiver.other_secrets = [secret for _hook, secret in hooks[1:]]
    for number in range(40):
        first.write(f"host{number}.example")
    start = threading.Barrier(2)

    def work(site: Site) -> None:
        start.wait()
        for _ in range(5):
            site.dispatcher.run_due()

    threads = [threading.Thread(target=work, args=(site,)) for site in sites]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        for webhook, _secret in hooks:
            logged = first.services.webhooks.deliveries(webhook.webhook_id, limit=100)
            assert {d.status for d in logged} == {DeliveryStatus.DELIVERED}
            assert [d.attempts for d in logged] == [1] * 8
        assert receiver.requests == 24  # 3 webhooks x 40 events / 5 per delivery
        assert receiver.refused_signatures == 0
        assert len(receiver.event_ids) == 120
        assert len(set(receiver.event_ids)) == 40  # each event once per webhook
    finally:
        for site in sites:
            site.dispatcher.close()
            site.services.close()


def test_the_delivery_log_forgets_old_deliveries(site: Site, receiver: Receiver) -> None:
    webhook, receiver.secret = site.webhook(f"{receiver.base}/hook")
    site.write("a.example")
    assert site.dispatcher.run_due() == 1
    site.later(31 * 86400)
    site.write("b.example")
    site.dispatcher._pruned = None  # the hourly prune is due
    assert site.dispatcher.run_due() == 1
    logged = site.services.webhooks.deliveries(webhook.webhook_id, limit=10)
    assert len(logged) == 1  # the 31-day-old one is gone, the new one kept

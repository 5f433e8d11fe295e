"""Sending an endpoint's due deliveries to a real local HTTP server: signed as Standard Webhooks
says, recorded attempt by attempt, retried on the contract's schedule (the clock is injected),
and given up on as the contract says."""

from __future__ import annotations

import random
import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connections, transaction
from django.test.utils import CaptureQueriesContext
from standardwebhooks import Webhook

from notifications import delivery, retry, services
from notifications.delivery import deliver_endpoint
from notifications.events import NewEvent, record_events
from notifications.models import Delivery, DeliveryAttempt, Event
from notifications.shared.models import DeliveryDue
from saas.db import connection
from tenants.models import Agency
from tests.notifications.conftest import ACTOR, FakeClock, LocalServer, answer_with

pytestmark = pytest.mark.usefixtures("allow_private")


def add_endpoint(server: LocalServer, clock: FakeClock, **fields: Any) -> services.Created:
    return services.create_endpoint(url=server.url(), actor=ACTOR, now=clock.now, **fields)


def add_events(clock: FakeClock, count: int = 1, kind: str = "campaign.paused") -> list[int]:
    with transaction.atomic():
        return record_events([NewEvent(kind, {"n": n}, clock.now) for n in range(count)])


def run(endpoint_id: int, clock: FakeClock, **options: Any) -> delivery.Report:
    return deliver_endpoint(endpoint_id, clock=clock, rng=random.Random(7), **options)


def verify(secret: str, received: Any) -> Any:
    return Webhook(secret).verify(received.body, received.headers)


def test_a_due_delivery_is_posted_signed_and_recorded(
    tenant: Agency, local_server: LocalServer, clock: FakeClock
) -> None:
    created = add_endpoint(local_server, clock)
    (event_id,) = add_events(clock)
    report = run(created.endpoint.pk, clock)
    assert report.sent == report.delivered == 1
    (received,) = local_server.received
    event = Event.objects.get(pk=event_id)
    assert verify(created.secret, received) == {
        "id": event_id, "type": "campaign.paused",
        "created_at": clock.now.isoformat().replace("+00:00", "Z"), "data": {"n": 0}}
    assert received.headers["webhook-id"] == str(event.pk)
    assert received.headers["webhook-timestamp"] == str(int(clock.now.timestamp()))
    assert received.headers["content-type"] == "application/json"
    (row,) = Delivery.objects.all()
    assert row.attempts == 1 and row.delivered_at == clock.now and row.next_attempt_at is None
    (attempt,) = DeliveryAttempt.objects.all()
    assert (attempt.attempt, attempt.status_code, attempt.error, attempt.next_attempt_at) == (
        1, 204, None, None)
    assert attempt.event_id == event_id and attempt.at == clock.now


def test_a_failed_attempt_is_retried_about_5_seconds_later(
    tenant: Agency, local_server: LocalServer, clock: FakeClock
) -> None:
    endpoint = add_endpoint(local_server, clock).endpoint
    add_events(clock)
    local_server.answer = answer_with(503)
    report = run(endpoint.pk, clock)
    (attempt,) = DeliveryAttempt.objects.all()
    assert attempt.status_code == 503 and attempt.error == "HTTP 503 Service Unavailable"
    assert attempt.next_attempt_at is not None
    delay = attempt.next_attempt_at - clock.now
    assert timedelta(seconds=5) <= delay <= timedelta(seconds=5.5)
    assert report.next_due == attempt.next_attempt_at  # a task is queued for that moment
    assert DeliveryDue.objects.get(agency=tenant).due_at <= attempt.next_attempt_at

    clock.now += timedelta(seconds=3)
    assert run(endpoint.pk, clock).sent == 0  # not due yet
    clock.now += timedelta(seconds=3)
    local_server.answer = answer_with(200)
    assert run(endpoint.pk, clock).delivered == 1
    assert [r.headers["webhook-id"] for r in local_server.received] == [
        str(attempt.event_id)] * 2  # the same webhook-id on every attempt
    row = Delivery.objects.get()
    assert row.attempts == 2 and row.delivered_at == clock.now


def test_an_endpoint_that_always_fails_is_tried_on_the_contract_schedule(
    tenant: Agency, local_server: LocalServer, clock: FakeClock
) -> None:
    endpoint = add_endpoint(local_server, clock).endpoint
    add_events(clock)
    local_server.answer = answer_with(500)
    delays = []
    for _ in range(retry.MAX_ATTEMPTS):
        run(endpoint.pk, clock)
        row = Delivery.objects.get()
        if row.next_attempt_at is None:
            break
        delays.append(row.next_attempt_at - clock.now)
        clock.now = row.next_attempt_at
    assert len(local_server.received) == retry.MAX_ATTEMPTS == Delivery.objects.get().attempts
    for delay, planned in zip(delays, retry.RETRY_DELAYS, strict=True):
        assert planned <= delay <= planned * 1.1
    assert [a.attempt for a in DeliveryAttempt.objects.order_by("id")] == list(range(1, 9))


def test_retry_after_of_a_503_postpones_the_retry(
    tenant: Agency, local_server: LocalServer, clock: FakeClock
) -> None:
    endpoint = add_endpoint(local_server, clock).endpoint
    add_events(clock)
    local_server.answer = answer_with(503, {"retry-after": "120"})
    run(endpoint.pk, clock)
    row = Delivery.objects.get()
    assert row.next_attempt_at is not None
    assert row.next_attempt_at - clock.now >= timedelta(seconds=120)


def test_an_unavailable_endpoint_costs_one_attempt_not_one_per_event(
    tenant: Agency, local_server: LocalServer, clock: FakeClock
) -> None:
    endpoint = add_endpoint(local_server, clock).endpoint
    add_events(clock, 3)
    local_server.answer = answer_with(502)
    run(endpoint.pk, clock)
    assert len(local_server.received) == 1
    waiting = Delivery.objects.filter(attempts=0)
    assert waiting.count() == 2  # not attempted: no attempt spent
    assert all(d.next_attempt_at == clock.now + timedelta(seconds=5) for d in waiting)

    endpoint.refresh_from_db()
    assert endpoint.available_at == clock.now + timedelta(seconds=5)
    clock.now += timedelta(seconds=1)
    add_events(clock)  # a new event waits for the endpoint too
    assert run(endpoint.pk, clock).sent == 0 and len(local_server.received) == 1

    clock.now += timedelta(seconds=5)
    local_server.answer = answer_with(204)
    assert run(endpoint.pk, clock).delivered == 4
    endpoint.refresh_from_db()
    assert endpoint.available_at is None


def test_in_an_outage_events_wait_instead_of_spending_attempts_and_go_when_it_is_back(
    tenant: Agency, local_server: LocalServer, clock: FakeClock
) -> None:
    clock.now -= timedelta(minutes=2)  # events are stamped with the clock, never ahead of it
    endpoint = add_endpoint(local_server, clock).endpoint
    local_server.answer = answer_with(503)
    for _ in range(12):  # a minute of outage, an event every 5 s
        add_events(clock)
        run(endpoint.pk, clock)
        clock.now += timedelta(seconds=5.6)
    assert len(local_server.received) < 12  # one try per wait, and the waits grow
    assert max(Delivery.objects.values_list("attempts", flat=True)) <= 2  # not 8: it waits
    climbed = set(Delivery.objects.filter(attempts=2).values_list("id", flat=True))
    local_server.answer = answer_with(204)
    clock.now += retry.UNAVAILABLE_WAIT_MAX
    run(endpoint.pk, clock)  # everything that waited goes at once ...
    assert set(Delivery.objects.filter(delivered_at__isnull=True).values_list(
        "id", flat=True)) == climbed
    clock.now += retry.RETRY_DELAYS[1] * 1.1
    run(endpoint.pk, clock)  # ... and what had reached its 5-minute retry, then
    assert not Delivery.objects.filter(delivered_at__isnull=True).exists()


def test_an_endpoint_refusing_one_event_still_gets_the_others(
    tenant: Agency, local_server: LocalServer, clock: FakeClock
) -> None:
    endpoint = add_endpoint(local_server, clock).endpoint
    add_events(clock, 3)
    local_server.answer = answer_with(400)
    assert run(endpoint.pk, clock).sent == 3


def test_410_disables_the_endpoint_at_once_with_a_webhook_disabled_event(
    tenant: Agency, local_server: LocalServer, clock: FakeClock
) -> None:
    gone = add_endpoint(local_server, clock).endpoint
    watcher = services.create_endpoint(url="http://127.0.0.1:9/watch", actor=ACTOR, now=clock.now,
                                       event_types=["webhook.disabled"]).endpoint
    add_events(clock, 2)
    local_server.answer = answer_with(410)
    report = run(gone.pk, clock)
    assert report.disabled == delivery.GONE_REASON and len(local_server.received) == 1
    gone.refresh_from_db()
    assert not gone.enabled and gone.disabled_reason == delivery.GONE_REASON
    assert not Delivery.objects.filter(endpoint=gone, next_attempt_at__isnull=False).exists()
    assert DeliveryAttempt.objects.get().next_attempt_at is None
    disabled = Event.objects.get(type="webhook.disabled")
    assert disabled.data == {"webhook": gone.pk, "reason": delivery.GONE_REASON}
    assert list(Delivery.objects.filter(event=disabled).values_list(
        "endpoint_id", flat=True)) == [watcher.pk]  # not to the endpoint it disabled


def test_an_endpoint_without_success_for_5_days_is_disabled(
    tenant: Agency, local_server: LocalServer, clock: FakeClock
) -> None:
    endpoint = add_endpoint(local_server, clock).endpoint
    local_server.answer = answer_with(500)
    first_failure = clock.now
    add_events(clock)
    run(endpoint.pk, clock)
    endpoint.refresh_from_db()
    assert endpoint.failing_since == first_failure and endpoint.enabled

    clock.now += timedelta(days=4, hours=23)
    add_events(clock)
    run(endpoint.pk, clock)
    endpoint.refresh_from_db()
    assert endpoint.enabled and endpoint.failing_since == first_failure

    clock.now += timedelta(hours=1)
    add_events(clock)
    assert run(endpoint.pk, clock).disabled == delivery.SILENT_REASON
    endpoint.refresh_from_db()
    assert not endpoint.enabled
    assert Event.objects.filter(type="webhook.disabled").count() == 1


def test_a_success_ends_the_failure_count(
    tenant: Agency, local_server: LocalServer, clock: FakeClock
) -> None:
    endpoint = add_endpoint(local_server, clock).endpoint
    add_events(clock)
    local_server.answer = answer_with(500)
    run(endpoint.pk, clock)
    clock.now += timedelta(seconds=10)
    local_server.answer = answer_with(204)
    run(endpoint.pk, clock)
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None


def test_after_a_rotation_both_secrets_sign_for_24_hours(
    tenant: Agency, local_server: LocalServer, clock: FakeClock
) -> None:
    created = add_endpoint(local_server, clock)
    new_secret = services.rotate_secret(created.endpoint, actor=ACTOR, now=clock.now)
    add_events(clock)
    run(created.endpoint.pk, clock)
    (received,) = local_server.received
    assert len(received.headers["webhook-signature"].split(" ")) == 2
    verify(created.secret, received)
    verify(new_secret, received)

    clock.now += timedelta(hours=24)
    add_events(clock)
    run(created.endpoint.pk, clock)
    later = local_server.received[1]
    assert len(later.headers["webhook-signature"].split(" ")) == 1
    assert Webhook(new_secret).sign(later.headers["webhook-id"], clock.now, later.body.decode()
                                    ) == later.headers["webhook-signature"]


def test_a_disabled_endpoint_is_sent_nothing(
    tenant: Agency, local_server: LocalServer, clock: FakeClock
) -> None:
    endpoint = add_endpoint(local_server, clock).endpoint
    add_events(clock)
    services.update_endpoint(endpoint, {"enabled": False}, actor=ACTOR, now=clock.now)
    assert run(endpoint.pk, clock).sent == 0
    assert local_server.received == []


def test_the_address_is_checked_again_at_delivery(
    tenant: Agency, local_server: LocalServer, clock: FakeClock
) -> None:
    endpoint = add_endpoint(local_server, clock).endpoint  # allowed when it was set
    add_events(clock)
    run(endpoint.pk, clock, allow_private=False)
    assert local_server.received == []
    (attempt,) = DeliveryAttempt.objects.all()
    assert attempt.status_code is None and attempt.error is not None
    assert attempt.error.startswith("refused: the URL must start with https://")


def test_a_second_sender_for_a_busy_endpoint_leaves_at_once(
    tenant: Agency, local_server: LocalServer, clock: FakeClock
) -> None:
    endpoint = add_endpoint(local_server, clock).endpoint
    add_events(clock)
    key = f"notifications.endpoint:{connection.schema_name}:{endpoint.pk}"
    held, release = threading.Event(), threading.Event()

    def other_sender() -> None:
        other = connections.create_connection("default")
        try:
            with other.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", [key])
                held.set()
                release.wait(timeout=10)
        finally:
            other.close()

    thread = threading.Thread(target=other_sender, daemon=True)
    thread.start()
    assert held.wait(timeout=10)
    try:
        report = run(endpoint.pk, clock)
    finally:
        release.set()
        thread.join(timeout=10)
    assert report.busy and report.sent == 0 and local_server.received == []


def test_a_turn_ends_after_its_time_and_asks_for_another(
    tenant: Agency, local_server: LocalServer, clock: FakeClock
) -> None:
    endpoint = add_endpoint(local_server, clock).endpoint
    add_events(clock, 3)
    report = run(endpoint.pk, clock, turn_seconds=0)
    assert report.sent == 1 and report.more
    assert run(endpoint.pk, clock).sent == 2


def test_a_batch_costs_the_same_queries_whatever_its_size(
    tenant: Agency, local_server: LocalServer, clock: FakeClock
) -> None:
    small = add_endpoint(local_server, clock, event_types=["campaign.paused"]).endpoint
    large = add_endpoint(local_server, clock, event_types=["campaign.resumed"]).endpoint
    add_events(clock, 2, "campaign.paused")
    add_events(clock, 60, "campaign.resumed")
    counts = []
    for endpoint in (small, large):
        with CaptureQueriesContext(connection) as captured:
            run(endpoint.pk, clock)
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1]
    assert len(local_server.received) == 62


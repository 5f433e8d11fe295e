"""The sweep's marker: which agencies have a delivery due, found with one query for all of
them, and never moved past a delivery scheduled while the sweep looked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django_tenants.utils import schema_context

from notifications import services, tasks, wakeups
from notifications.events import NewEvent, record_events
from notifications.models import Delivery
from notifications.shared.models import DeliveryDue
from saas.db import connection
from tenants.models import Agency
from tests.conftest import make_tenant
from tests.notifications.conftest import ACTOR

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def schedule_one(at: datetime = AT) -> None:
    with transaction.atomic():
        record_events([NewEvent("campaign.paused", {}, at)])


def test_the_dispatcher_finds_the_due_agencies_with_one_query(
    tenant: Agency, django_assert_num_queries: Any
) -> None:
    services.create_endpoint(url="http://127.0.0.1:9/", actor=ACTOR, now=AT)
    schedule_one()
    connection.set_schema_to_public()
    idle, _ = make_tenant("notify-idle")  # no endpoint, no marker: costs nothing
    later, _ = make_tenant("notify-later")
    with schema_context(later.schema_name):
        services.create_endpoint(url="http://127.0.0.1:9/", actor=ACTOR, now=AT)
        schedule_one(AT + timedelta(hours=1))
    connection.set_schema_to_public()
    assert wakeups.due_agencies(AT - timedelta(days=1)) == []  # (and search_path is set)
    with django_assert_num_queries(1):
        assert wakeups.due_agencies(AT + timedelta(minutes=1)) == [tenant.schema_name]
    assert not DeliveryDue.objects.filter(agency=idle).exists()
    assert set(wakeups.due_agencies(AT + timedelta(hours=2))) == {tenant.schema_name,
                                                                   later.schema_name}


def test_a_sweep_hands_out_due_endpoints_and_moves_the_marker_to_the_next_delivery(
    tenant: Agency, django_assert_num_queries: Any
) -> None:
    first = services.create_endpoint(url="http://127.0.0.1:9/a", actor=ACTOR, now=AT).endpoint
    second = services.create_endpoint(url="http://127.0.0.1:9/b", actor=ACTOR, now=AT).endpoint
    schedule_one()
    retry_at = AT + timedelta(minutes=5)
    Delivery.objects.filter(endpoint=second).update(next_attempt_at=retry_at)
    with django_assert_num_queries(3):
        found = wakeups.sweep(AT + timedelta(seconds=1))
    assert found.endpoints == [first.pk] and found.raised
    assert DeliveryDue.objects.get(agency=tenant).due_at == AT  # still pending: sweep again

    Delivery.objects.filter(endpoint=first).update(next_attempt_at=None)  # delivered
    assert wakeups.sweep(AT + timedelta(minutes=1)).endpoints == []
    assert DeliveryDue.objects.get(agency=tenant).due_at == retry_at

    Delivery.objects.update(next_attempt_at=None)
    wakeups.sweep(AT + timedelta(minutes=6))
    assert DeliveryDue.objects.get(agency=tenant).due_at is None
    connection.set_schema_to_public()
    assert wakeups.due_agencies(AT + timedelta(days=1)) == []


def test_a_delivery_scheduled_while_the_sweep_looks_keeps_the_marker_down(
    tenant: Agency,
) -> None:
    services.create_endpoint(url="http://127.0.0.1:9/", actor=ACTOR, now=AT)
    version = wakeups.marker_version()  # the sweep reads the version ...
    assert version is None
    schedule_one()
    version = wakeups.marker_version()
    assert version is not None
    Delivery.objects.update(next_attempt_at=None)  # ... finds nothing pending ...
    schedule_one(AT + timedelta(seconds=30))  # ... while a delivery is scheduled ...
    assert not wakeups.raise_marker(version)  # ... so it does not raise the marker
    assert DeliveryDue.objects.get(agency=tenant).due_at == AT
    assert wakeups.raise_marker(wakeups.marker_version() or 0)
    assert DeliveryDue.objects.get(agency=tenant).due_at == AT + timedelta(seconds=30)


def test_a_disabled_endpoints_deliveries_call_for_no_sweep(tenant: Agency) -> None:
    endpoint = services.create_endpoint(url="http://127.0.0.1:9/", actor=ACTOR, now=AT).endpoint
    schedule_one()
    services.update_endpoint(endpoint, {"enabled": False}, actor=ACTOR, now=AT)
    found = wakeups.sweep(AT + timedelta(minutes=1))
    assert found.endpoints == []
    assert DeliveryDue.objects.get(agency=tenant).due_at is None


def test_the_sweep_task_queues_a_delivery_task_per_due_endpoint(
    tenant: Agency, monkeypatch: Any
) -> None:
    endpoint = services.create_endpoint(url="http://127.0.0.1:9/", actor=ACTOR, now=AT).endpoint
    schedule_one()
    queued: list[tuple[str, int]] = []
    monkeypatch.setattr(tasks, "_publish", lambda schema, endpoint_id, **_: queued.append(
        (schema, endpoint_id)))
    assert tasks.sweep.run() == 1
    assert queued == [(tenant.schema_name, endpoint.pk)]

"""Events written with their cause: `record_events` and the builders the status writer and the
ledger call, inside their transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction

from notifications import events, services
from notifications.events import (
    NewEvent,
    purge_events,
    record_events,
    status_change_events,
    threshold_events,
    webhook_test_event,
)
from notifications.models import Delivery, DeliveryAttempt, Event
from notifications.shared.models import DeliveryDue
from notifications.thresholds import BudgetSpend, threshold_crossings
from tenants.models import Agency
from tests.notifications.conftest import ACTOR

AT = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)


@dataclass(frozen=True)
class Transition:  # as campaigns.status.Transition
    campaign_id: int
    from_status: str
    to_status: str
    reasons: list[str]


def endpoint(url: str = "http://127.0.0.1:9/hook", **fields: Any) -> Any:
    return services.create_endpoint(url=url, actor=ACTOR, now=AT, **fields).endpoint


def test_a_pause_is_an_event_with_the_history_entry_and_its_campaign(tenant: Agency) -> None:
    rows = status_change_events(
        [Transition(7, "active", "paused", ["campaign_daily_budget"])],
        at=AT, cause="spend", campaigns={7: ("Spring sale", 3)},
        overshoot={7: {"campaign_daily_budget": Decimal("3")}},
    )
    with transaction.atomic():
        (event_id,) = record_events(rows)
    event = Event.objects.get(pk=event_id)
    assert event.type == "campaign.paused"
    assert event.created_at == AT
    assert event.data == {
        "campaign": {"id": 7, "name": "Spring sale", "brand": 3},
        "from": "active", "to": "paused", "reasons": ["campaign_daily_budget"],
        "cause": "spend", "at": "2026-03-01T12:30:00Z",
        "overshoot": {"campaign_daily_budget": "3.00"},
    }


def test_a_resume_is_an_event_with_no_overshoot() -> None:
    (row,) = status_change_events([Transition(7, "paused", "active", [])], at=AT, cause="job",
                                  campaigns={7: ("Spring sale", 3)}, overshoot={})
    assert row.type == "campaign.resumed"
    assert row.data["overshoot"] == {} and row.data["reasons"] == []
    assert row.data["from"] == "paused" and row.data["to"] == "active"


def test_a_change_of_reasons_that_leaves_the_status_is_no_event() -> None:
    rows = status_change_events(
        [Transition(7, "paused", "paused", ["manual", "dayparting"]),
         Transition(8, "active", "paused", ["flight"])],
        at=AT, cause="job", campaigns={7: ("A", 1), 8: ("B", 1)}, overshoot={})
    assert [row.data["campaign"]["id"] for row in rows] == [8]


def test_overshoot_exactly_on_the_budget_is_zero_money_text() -> None:
    (row,) = status_change_events(
        [Transition(7, "active", "paused", ["brand_daily_budget", "campaign_daily_budget"])],
        at=AT, cause="spend", campaigns={7: ("A", 1)},
        overshoot={7: {"campaign_daily_budget": Decimal("0"),
                       "brand_daily_budget": Decimal("12.5")}})
    assert row.data["overshoot"] == {"brand_daily_budget": "12.50",
                                     "campaign_daily_budget": "0.00"}


def test_ids_increase_in_the_order_of_the_rows(tenant: Agency) -> None:
    rows = [webhook_test_event(n, at=AT) for n in range(1, 6)]
    with transaction.atomic():
        ids = record_events(rows)
    assert ids == sorted(ids) and len(ids) == 5
    stored = list(Event.objects.filter(pk__in=ids).order_by("id"))
    assert [event.data["webhook"] for event in stored] == [1, 2, 3, 4, 5]


def test_recording_nothing_takes_no_lock_and_runs_no_query(
    tenant: Agency, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(0):
        assert record_events([]) == []


def test_any_number_of_events_is_the_lock_and_one_statement(
    tenant: Agency, django_assert_num_queries: Any
) -> None:
    endpoint()
    endpoint(event_types=["campaign.resumed"])
    rows = status_change_events(
        [Transition(n, "paused", "active", []) for n in range(1, 501)], at=AT, cause="job",
        campaigns={n: (f"C{n}", 1) for n in range(1, 501)}, overshoot={})
    with transaction.atomic(), django_assert_num_queries(2):
        ids = record_events(rows)
    assert len(ids) == 500
    assert Delivery.objects.count() == 1000  # both endpoints take campaign.resumed


def test_each_subscribed_enabled_endpoint_gets_a_delivery_due_at_once(tenant: Agency) -> None:
    everything = endpoint()
    pauses_only = endpoint(event_types=["campaign.paused"])
    switched_off = endpoint(enabled=False)
    rows = [NewEvent("campaign.resumed", {"campaign": {"id": 1}}, AT)]
    with transaction.atomic():
        (event_id,) = record_events(rows)
    deliveries = Delivery.objects.filter(event_id=event_id)
    assert [d.endpoint_id for d in deliveries] == [everything.pk]
    assert pauses_only.pk != switched_off.pk
    (delivery,) = deliveries
    assert delivery.attempts == 0 and delivery.next_attempt_at is not None
    assert delivery.delivered_at is None


def test_a_test_event_goes_to_its_endpoint_only_whatever_it_subscribes(tenant: Agency) -> None:
    tested = endpoint(event_types=["campaign.paused"])
    endpoint()  # subscribed to webhook.test, but not the one tested
    with transaction.atomic():
        (event_id,) = record_events([webhook_test_event(tested.pk, at=AT)])
    assert list(Delivery.objects.filter(event_id=event_id).values_list("endpoint_id",
                                                                       flat=True)) == [tested.pk]


def test_scheduling_a_delivery_lowers_the_agencys_sweep_marker(tenant: Agency) -> None:
    assert not DeliveryDue.objects.filter(agency=tenant).exists()
    with transaction.atomic():
        record_events([webhook_test_event(1, at=AT)])  # no endpoint 1: nothing to deliver
    assert not DeliveryDue.objects.filter(agency=tenant).exists()

    endpoint()
    with transaction.atomic():
        record_events([NewEvent("campaign.paused", {}, AT)])
    due = DeliveryDue.objects.get(agency=tenant)
    assert due.due_at == Delivery.objects.get().next_attempt_at
    first_version = due.version
    with transaction.atomic():
        record_events([NewEvent("campaign.paused", {}, AT)])
    due.refresh_from_db()
    assert due.version == first_version + 1  # every scheduling counts, even when not earlier


def test_a_threshold_is_stored_once_per_scope_budget_threshold_and_period(tenant: Agency) -> None:
    spend = BudgetSpend("campaign", 7, "daily", date(2026, 3, 1), Decimal("100.00"),
                        Decimal("70"), Decimal("85"), thresholds=[80, 100])
    rows = threshold_events(threshold_crossings([spend]), at=AT)
    with transaction.atomic():
        first = record_events(rows)
        again = record_events(rows)  # a retry, or a second writer that computed the same
    assert len(first) == 1 and again == []
    (event,) = Event.objects.filter(type="budget.threshold_reached")
    assert event.data == {"scope": "campaign", "id": 7, "budget": "daily", "threshold": 80,
                          "limit": "100.00", "spent": "85.00", "period": "2026-03-01",
                          "at": "2026-03-01T12:30:00Z"}
    next_day = BudgetSpend("campaign", 7, "daily", date(2026, 3, 2), Decimal("100.00"),
                           Decimal("0"), Decimal("80"), thresholds=[80, 100])
    with transaction.atomic():
        assert len(record_events(threshold_events(threshold_crossings([next_day]), at=AT))) == 1


def test_a_lifetime_threshold_has_no_period(tenant: Agency) -> None:
    spend = BudgetSpend("campaign", 7, "lifetime", None, Decimal("1000"), Decimal("0"),
                        Decimal("1000"), thresholds=[80, 100])
    rows = threshold_events(threshold_crossings([spend]), at=AT)
    assert [(row.data["threshold"], row.data["period"]) for row in rows] == [(80, None),
                                                                             (100, None)]


def test_purge_removes_old_events_with_their_deliveries_and_log(tenant: Agency) -> None:
    hook = endpoint()
    with transaction.atomic():
        old, recent = record_events([NewEvent("campaign.paused", {}, AT - timedelta(days=31)),
                                     NewEvent("campaign.paused", {}, AT)])
    delivery = Delivery.objects.get(event_id=old)
    DeliveryAttempt.objects.create(delivery=delivery, endpoint_id=hook.pk, event_id=old,
                                   attempt=1, at=AT, duration_ms=1)
    assert purge_events(AT - events.RETENTION) == 1
    assert list(Event.objects.values_list("id", flat=True)) == [recent]
    assert not DeliveryAttempt.objects.exists()
    assert list(Delivery.objects.values_list("event_id", flat=True)) == [recent]


@pytest.mark.parametrize("at", [AT, AT.astimezone(ZoneInfo("Asia/Tokyo"))])
def test_instants_are_written_in_utc_as_the_api_writes_them(at: datetime) -> None:
    assert events.instant_text(at) == "2026-03-01T12:30:00Z"

"""campaigns.ledger, called directly: the one writer of spend and its refusals."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from campaigns import ledger, selectors, status
from campaigns.models import Brand, Campaign, Spend, SpendTotal
from saas.db import connection
from saas.errors import Conflict, InvalidInput
from tenants.models import Agency
from tests.plans import generic_plan, whole_reads

AT = datetime(2026, 3, 1, 12, tzinfo=UTC)
pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign(in_tenant: Agency) -> Campaign:
    brand = Brand.objects.create(name="b", timezone="Europe/Paris", daily_budget=Decimal("5"))
    return Campaign.objects.create(brand=brand, name="c")


def event(campaign: Campaign, amount: str, event_id: str | None = None) -> ledger.SpendEvent:
    return ledger.SpendEvent(campaign.pk, Decimal(amount), AT, event_id)


def test_a_spend_adds_to_its_local_day_and_month_and_is_decided_in_the_same_answer(
    campaign: Campaign,
) -> None:
    recorded = ledger.record_spend(event(campaign, "5.00", "e-1"), now=AT)
    assert recorded.created
    assert recorded.body["campaign_status"] == {"status": "paused",
                                                "pause_reasons": ["brand_daily_budget"]}
    totals = sorted(SpendTotal.objects.values_list("period", "period_start", "amount"))
    assert [(p, str(d), a) for p, d, a in totals] == [
        ("d", "2026-03-01", Decimal("5")), ("m", "2026-03-01", Decimal("5"))]


def test_a_retry_is_the_first_answer_and_another_body_a_conflict(campaign: Campaign) -> None:
    first = ledger.record_spend(event(campaign, "1.00", "e-2"), now=AT)
    again = ledger.record_spend(event(campaign, "1.0", "e-2"), now=AT)
    assert not again.created and again.body == first.body
    with pytest.raises(Conflict):
        ledger.record_spend(event(campaign, "2.00", "e-2"), now=AT)


def test_an_unknown_campaign_is_a_400_naming_campaign(in_tenant: Agency) -> None:
    with pytest.raises(InvalidInput) as refused:
        ledger.record_spend(ledger.SpendEvent(987654, Decimal("1"), AT, None), now=AT)
    assert refused.value.fields == {"campaign": ["Unknown campaign."]}


def test_a_batch_refuses_a_repeat_with_another_body_by_index(campaign: Campaign) -> None:
    with pytest.raises(ledger.InvalidBatch) as refused:
        ledger.record_batch([event(campaign, "1", "x"), event(campaign, "2", "x")], now=AT)
    assert list(refused.value.fields["events"]) == ["1"]
    assert not SpendTotal.objects.exists()


# --- One statement to lock and write, on the time zone last seen -----------------------------

LATE = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)  # 1 March in UTC, 2 March in Paris and Tokyo


def local_days(campaign: Campaign) -> list[str]:
    return [str(day) for day in
            Spend.objects.filter(campaign=campaign).order_by("id").values_list("local_day",
                                                                               flat=True)]


def test_a_campaign_first_seen_counts_to_its_brands_local_day_not_the_guessed_one(
    campaign: Campaign, django_assert_num_queries: Any,
) -> None:
    ledger.record_spend(ledger.SpendEvent(campaign.pk, Decimal("1"), LATE, None), now=LATE)
    ledger._zones_seen.clear()  # the statement guesses UTC: 1 March
    with django_assert_num_queries(5):  # savepoint, lock-and-write, write, decision's read, release
        ledger.record_spend(ledger.SpendEvent(campaign.pk, Decimal("1"), LATE, None), now=LATE)
    with django_assert_num_queries(4):  # the zone now seen: the lock and the write are one
        ledger.record_spend(ledger.SpendEvent(campaign.pk, Decimal("1"), LATE, None), now=LATE)
    assert local_days(campaign) == ["2026-03-02"] * 3


def test_a_brand_whose_time_zone_changed_counts_to_the_new_zones_day(campaign: Campaign) -> None:
    ledger.record_spend(ledger.SpendEvent(campaign.pk, Decimal("1"), AT, None), now=AT)
    Brand.objects.filter(pk=campaign.brand_id).update(timezone="America/New_York")
    ledger.record_spend(ledger.SpendEvent(campaign.pk, Decimal("1"), LATE, None), now=LATE)
    ledger.record_spend(ledger.SpendEvent(campaign.pk, Decimal("1"), LATE, None), now=LATE)
    assert local_days(campaign) == ["2026-03-01", "2026-03-01", "2026-03-01"]


def test_a_wrong_guess_of_the_zone_is_never_the_day_counted_to(campaign: Campaign) -> None:
    ledger._zones_seen[(connection.schema_name, campaign.pk)] = "Asia/Tokyo"  # wrong now
    Brand.objects.filter(pk=campaign.brand_id).update(timezone="UTC")
    ledger.record_spend(ledger.SpendEvent(campaign.pk, Decimal("1"), LATE, None), now=LATE)
    assert local_days(campaign) == ["2026-03-01"]


# --- The spend's statements at scale ----------------------------------------------------------

def test_a_spends_statements_reach_campaigns_and_totals_by_index_however_many_there_are(
    campaign: Campaign,
) -> None:
    """Joined as tables, the planner hash-joined a scan of every campaign (and every day total)
    of the agency into each spend: 2 to 3 ms a spend at 10,000 campaigns."""
    brands = Brand.objects.bulk_create(Brand(name=f"b{n}", timezone="UTC") for n in range(500))
    others = Campaign.objects.bulk_create(Campaign(brand=b, name="c") for b in brands
                                          for _ in range(4))
    SpendTotal.objects.bulk_create(
        SpendTotal(campaign=c, period="d", period_start=date(2026, 1, 1) + timedelta(days=n),
                   amount=Decimal("1")) for c in others[:200] for n in range(20))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE campaigns_brand, campaigns_campaign, campaigns_spendtotal")
    keys = json.dumps([{"brand_id": campaign.brand_id, "day": "2026-03-01",
                        "month": "2026-03-01", "period": "d", "period_start": "2026-02-28"}])
    events = json.dumps([{"campaign": campaign.pk, "amount": "1",
                          "occurred_at": AT.isoformat(), "local_day": "2026-03-01",
                          "event_id": "plan", "request_hash": "", "remember": True}])
    plans = {
        "campaigns": generic_plan(selectors.CAMPAIGNS_SQL, ["%s"], [keys]),
        "brand totals": generic_plan(ledger.BRAND_TOTALS_SQL, ["%s"], [keys]),
        "lock and write": generic_plan(ledger.LOCK_WRITE_SQL,
                                       ["%(campaign)s", "%(zone)s", "%(events)s"],
                                       [campaign.pk, "Europe/Paris", events]),
        "write": generic_plan(ledger.WRITE_SQL, ["%(events)s"], [events]),
        "statuses": generic_plan(
            status.APPLY_SQL, ["%(decided)s", "%(at)s", "%(cause)s", "%(actor_type)s",
                               "%(actor_id)s", "%(actor_name)s"],
            [json.dumps([{"id": campaign.pk, "status": "active", "reasons": [],
                          "next_change_at": None, "overshoot": None}]),
             AT, "spend", "", None, ""]),
    }
    assert {name: whole_reads(plan) for name, plan in plans.items()} == {
        name: [] for name in plans}

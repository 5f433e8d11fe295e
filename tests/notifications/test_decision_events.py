"""Events written by the deciders, through HTTP on real PostgreSQL: a status change is its
`campaign.paused` / `campaign.resumed` event in the transaction of its history row, and a spend
that takes a budget past an alert threshold is its `budget.threshold_reached`, once."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from campaigns.models import Brand, Campaign, StatusChange
from campaigns.tenant_passes import run_for_schema
from notifications.events import NewEvent, record_events
from notifications.models import Event
from tests.campaigns.test_jobs import PASS_QUERIES, PURGE_QUERIES
from tests.campaigns.test_spend_api import SINGLE_QUERIES
from tests.conftest import Api

pytestmark = pytest.mark.django_db


def events(api: Api, event_type: str | None = None) -> list[dict[str, Any]]:
    """Every event (of `event_type`), polled as a client does: `after` the last id seen."""
    params = {"type": event_type} if event_type else {}
    seen: list[dict[str, Any]] = []
    while True:
        page = api.ok(api.get("events", after=seen[-1]["id"] if seen else 0, **params))
        seen += page["results"]
        if not page["has_more"]:
            return seen


def history(api: Api, campaign: dict[str, Any]) -> list[dict[str, Any]]:
    return list(api.ok(api.get(f"campaigns/{campaign['id']}/history"))["results"])


def status_events(api: Api) -> list[dict[str, Any]]:
    return [e for e in events(api) if e["type"] in ("campaign.paused", "campaign.resumed")]


def thresholds(api: Api) -> list[tuple[str, int, str, int, str | None, str, str]]:
    return [(d["scope"], d["id"], d["budget"], d["threshold"], d["period"], d["limit"],
             d["spent"])
            for d in (e["data"] for e in events(api, "budget.threshold_reached"))]


def today() -> date:
    return timezone.now().astimezone(UTC).date()


def next_utc_midnight() -> datetime:
    return datetime.combine(today() + timedelta(days=1), datetime.min.time(), tzinfo=UTC)


def assert_every_status_change_is_an_event(api: Api) -> None:
    """No history row that changes the status without its event, and no event without one."""
    with schema_context(api.agency.schema_name):
        changes = sorted(
            (c.campaign_id, c.from_status, c.to_status, c.cause)
            for c in StatusChange.objects.all() if c.from_status != c.to_status)
    shown = sorted((e["data"]["campaign"]["id"], e["data"]["from"], e["data"]["to"],
                    e["data"]["cause"]) for e in status_events(api))
    assert shown == changes


# --- Status changes ----------------------------------------------------------------------------

def test_a_spend_that_pauses_is_one_paused_event_with_the_history_entrys_overshoot(
    api: Api,
) -> None:
    brand = api.brand(name="Acme")
    campaign = api.campaign(brand, name="Spring sale", daily_budget="10")
    api.spend(campaign, "7")
    paused = api.spend(campaign, "6")
    assert paused["campaign_status"]["status"] == "paused"

    (event,) = events(api, "campaign.paused")
    (entry,) = history(api, campaign)
    assert entry["overshoot"] == {"campaign_daily_budget": "3.00"}
    assert event["data"] == {
        "campaign": {"id": campaign["id"], "name": "Spring sale", "brand": brand["id"]},
        "from": "active", "to": "paused", "reasons": ["campaign_daily_budget"],
        "cause": "spend", "at": event["data"]["at"], "overshoot": {"campaign_daily_budget": "3.00"},
    }
    assert (datetime.fromisoformat(event["data"]["at"])
            == datetime.fromisoformat(entry["at"]))
    assert entry["actor"] is None
    assert_every_status_change_is_an_event(api)


def test_spend_landing_exactly_on_the_budget_overshoots_by_zero(api: Api) -> None:
    campaign = api.campaign(api.brand(), daily_budget="10")
    api.spend(campaign, "10")
    (entry,) = history(api, campaign)
    assert entry["overshoot"] == {"campaign_daily_budget": "0.00"}
    (event,) = events(api, "campaign.paused")
    assert event["data"]["overshoot"] == {"campaign_daily_budget": "0.00"}


def test_overshoot_names_every_budget_the_change_added_with_its_exact_excess(api: Api) -> None:
    brand = api.brand(daily_budget="20", monthly_budget="100")
    campaign = api.campaign(brand, daily_budget="10", monthly_budget="12.5")
    sibling = api.campaign(brand, name="Sibling")
    api.spend(sibling, "9")
    api.spend(campaign, "12.654321")  # past its daily (10), monthly (12.5) and the brand's (20)
    (entry,) = history(api, campaign)
    assert entry["reasons"] == ["campaign_daily_budget", "campaign_monthly_budget",
                                "brand_daily_budget"]
    assert entry["overshoot"] == {"campaign_daily_budget": "2.654321",
                                  "campaign_monthly_budget": "0.154321",
                                  "brand_daily_budget": "1.654321"}
    (sibling_entry,) = history(api, sibling)  # paused by the brand's budget, by the same spend
    assert sibling_entry["overshoot"] == {"brand_daily_budget": "1.654321"}
    assert_every_status_change_is_an_event(api)


def test_a_change_of_reasons_that_keeps_the_campaign_paused_is_history_but_no_event(
    api: Api,
) -> None:
    campaign = api.campaign(api.brand(), daily_budget="10")
    api.ok(api.post(f"campaigns/{campaign['id']}/pause"))
    api.spend(campaign, "12")  # now paused for its budget too: reasons change, status does not
    newest, first = history(api, campaign)
    assert (first["from"], first["to"], first["reasons"]) == ("active", "paused", ["manual"])
    assert (newest["from"], newest["to"]) == ("paused", "paused")
    assert newest["reasons"] == ["manual", "campaign_daily_budget"]
    assert newest["overshoot"] == {"campaign_daily_budget": "2.00"}  # the reason it added
    assert [e["data"]["cause"] for e in status_events(api)] == ["manual"]


def test_midnight_through_run_jobs_resumes_with_one_resumed_event_per_campaign(
    api: Api,
) -> None:
    brand = api.brand()
    campaigns = [api.campaign(brand, name=f"C{n}", daily_budget="1") for n in range(3)]
    for campaign in campaigns:
        api.spend(campaign, "1.25")
    assert len(events(api, "campaign.paused")) == 3

    midnight = next_utc_midnight() + timedelta(seconds=30)
    api.run_jobs(midnight.isoformat())
    api.run_jobs(midnight.isoformat())  # run twice: no second event
    resumed = events(api, "campaign.resumed")
    assert sorted(e["data"]["campaign"]["id"] for e in resumed) == [c["id"] for c in campaigns]
    for event in resumed:
        assert event["data"]["cause"] == "job" and event["data"]["reasons"] == []
        assert event["data"]["overshoot"] == {}
        assert datetime.fromisoformat(event["data"]["at"]) == midnight
    assert_every_status_change_is_an_event(api)


def test_a_retried_spend_adds_no_event(api: Api) -> None:
    campaign = api.campaign(api.brand(), daily_budget="10")
    body = {"campaign": campaign["id"], "amount": "11", "event_id": "retry-1"}
    first = api.ok(api.post("spend", body), 201)
    again = api.ok(api.post("spend", body), 200)
    assert again == first
    assert [e["type"] for e in events(api)] == [
        "campaign.paused", "budget.threshold_reached", "budget.threshold_reached"]
    batch = api.ok(api.post("spend/batch", {"events": [body, body]}))
    assert (batch["created"], batch["duplicates"]) == (0, 2)
    assert len(events(api)) == 3


def test_edits_and_the_manual_switch_are_events_too(api: Api) -> None:
    campaign = api.campaign(api.brand())
    api.ok(api.patch(f"campaigns/{campaign['id']}", {"daily_budget": "0"}))
    api.ok(api.post(f"campaigns/{campaign['id']}/pause"))  # reasons change: no event
    api.ok(api.patch(f"campaigns/{campaign['id']}", {"daily_budget": None}))  # still manual
    api.ok(api.post(f"campaigns/{campaign['id']}/resume"))
    assert [(e["type"], e["data"]["cause"]) for e in status_events(api)] == [
        ("campaign.paused", "edit"), ("campaign.resumed", "manual")]
    assert_every_status_change_is_an_event(api)


# --- Threshold crossings -----------------------------------------------------------------------

def test_a_campaigns_daily_thresholds_are_crossed_once_each(api: Api) -> None:
    campaign = api.campaign(api.brand(), daily_budget="100")
    day = today().isoformat()
    api.spend(campaign, "50")
    assert thresholds(api) == []
    api.spend(campaign, "30")
    assert thresholds(api) == [("campaign", campaign["id"], "daily", 80, day, "100.00", "80.00")]
    api.spend(campaign, "10")
    api.spend(campaign, "15")
    api.spend(campaign, "5")
    assert thresholds(api) == [
        ("campaign", campaign["id"], "daily", 80, day, "100.00", "80.00"),
        ("campaign", campaign["id"], "daily", 100, day, "100.00", "105.00"),
    ]
    (crossing,) = [e for e in events(api, "budget.threshold_reached")
                   if e["data"]["threshold"] == 100]
    assert crossing["data"]["at"].endswith("Z")


def test_brand_and_monthly_budgets_cross_with_the_brands_own_thresholds(api: Api) -> None:
    brand = api.brand(daily_budget="200", monthly_budget="1000", alert_thresholds=[50])
    campaign = api.campaign(brand, monthly_budget="100")
    sibling = api.campaign(brand, name="Sibling")
    month = today().replace(day=1).isoformat()
    api.spend(sibling, "90")
    api.spend(campaign, "60")  # campaign month 60 of 100; brand day 150 of 200
    assert thresholds(api) == [
        ("campaign", campaign["id"], "monthly", 50, month, "100.00", "60.00"),
        ("brand", brand["id"], "daily", 50, today().isoformat(), "200.00", "150.00"),
    ]


def test_a_late_spend_crosses_the_threshold_of_the_day_it_counts_to(api: Api) -> None:
    brand = api.brand(daily_budget="100")
    campaign = api.campaign(brand, daily_budget="10")
    yesterday = today() - timedelta(days=1)
    at = datetime.combine(yesterday, datetime.min.time(), tzinfo=UTC) + timedelta(hours=12)
    api.spend(campaign, "9", occurred_at=at.isoformat())
    api.ok(api.post("spend/batch", {"events": [
        {"campaign": campaign["id"], "amount": "41", "occurred_at": at.isoformat()},
        {"campaign": campaign["id"], "amount": "1"},  # today: 10 % of the campaign's day
    ]}))
    assert thresholds(api) == [  # the brand's yesterday is 50 of 100: not yet 80 %
        ("campaign", campaign["id"], "daily", 80, yesterday.isoformat(), "10.00", "9.00"),
        ("campaign", campaign["id"], "daily", 100, yesterday.isoformat(), "10.00", "50.00"),
    ]
    # Yesterday's pause is no pause of today: the campaign runs (1 of 10 today).
    assert api.status(campaign)["status"] == "active"


def test_a_late_spend_crosses_its_brands_threshold_of_that_day(api: Api) -> None:
    brand = api.brand(daily_budget="100")
    first, second = api.campaign(brand, name="A"), api.campaign(brand, name="B")
    yesterday = today() - timedelta(days=1)
    at = (datetime.combine(yesterday, datetime.min.time(), tzinfo=UTC)
          + timedelta(hours=20)).isoformat()
    api.spend(first, "70", occurred_at=at)
    api.spend(second, "5")  # today's: the brand's day is 5 of 100
    api.spend(second, "15", occurred_at=at)  # yesterday: 85 of 100
    assert thresholds(api) == [
        ("brand", brand["id"], "daily", 80, yesterday.isoformat(), "100.00", "85.00")]


def test_no_thresholds_no_events(api: Api) -> None:
    campaign = api.campaign(api.brand(daily_budget="10", alert_thresholds=[]), daily_budget="10")
    api.spend(campaign, "20")
    assert thresholds(api) == []


# --- Bounded queries: however many campaigns change, the events are one statement ---------------

# A single spend (tests/campaigns/test_spend_api.py), then the write of statuses and history,
# the agency's event ordering lock and the one statement that records every event.
PAUSING_SPEND_QUERIES = SINGLE_QUERIES + 3


def brand_of_campaigns(api: Api, count: int, **fields: Any) -> list[Campaign]:
    """`count` campaigns of one brand with a daily budget of 10, made directly."""
    with schema_context(api.agency.schema_name):
        brand = Brand.objects.create(name="Many", timezone="UTC", daily_budget=Decimal("10"))
        campaigns = Campaign.objects.bulk_create(
            Campaign(brand=brand, name=f"C{n}", **fields) for n in range(count))
    return campaigns


@pytest.mark.parametrize("count", [2, 200])
def test_a_pass_resuming_any_number_of_campaigns_runs_the_same_queries(
    api: Api, count: int, django_assert_num_queries: Any
) -> None:
    brand_of_campaigns(
        api, count, daily_budget=Decimal("1"), status="paused",
        pause_reasons=["campaign_daily_budget"])  # a budget of a day that has passed
    at = next_utc_midnight() + timedelta(minutes=1)
    with django_assert_num_queries(PASS_QUERIES + PURGE_QUERIES):  # a full pass
        result = run_for_schema(api.agency.schema_name, at)
    assert len(result.transitions) == count
    assert len(events(api, "campaign.resumed")) == count


@pytest.mark.parametrize("count", [1, 50])
def test_a_spend_pausing_any_number_of_campaigns_runs_the_same_queries(
    api: Api, count: int, django_assert_num_queries: Any
) -> None:
    campaigns = brand_of_campaigns(api, count)
    first = {"id": campaigns[0].pk}
    api.spend(first, "0.01")  # the token's last use is now recorded: no write below
    with django_assert_num_queries(PAUSING_SPEND_QUERIES):
        paused = api.spend(first, "9.99")  # the brand's daily budget: every campaign pauses
    assert paused["campaign_status"]["pause_reasons"] == ["brand_daily_budget"]
    assert len(events(api, "campaign.paused")) == count
    assert [(d[0], d[3]) for d in thresholds(api)] == [("brand", 80), ("brand", 100)]


# --- Retention ---------------------------------------------------------------------------------

def test_a_full_pass_deletes_events_past_their_30_days_and_a_due_pass_does_not(
    api: Api,
) -> None:
    """The hourly full pass (and run_jobs) purges; the minute's due passes, which run only
    where something is due, leave it to it."""
    hour = next_utc_midnight() + timedelta(hours=3)
    with schema_context(api.agency.schema_name):
        record_events([NewEvent("webhook.test", {"webhook": 0}, created_at=created)
                       for created in (hour - timedelta(days=30, minutes=1),
                                       hour - timedelta(days=29, hours=23))])
    run_for_schema(api.agency.schema_name, hour, only_due=True)
    with schema_context(api.agency.schema_name):
        assert Event.objects.count() == 2
    api.run_jobs((hour + timedelta(seconds=20)).isoformat())
    with schema_context(api.agency.schema_name):
        assert [e.created_at for e in Event.objects.all()] == [
            hour - timedelta(days=29, hours=23)]


def test_money_in_events_is_decimal_text(api: Api) -> None:
    campaign = api.campaign(api.brand(), daily_budget="0.30")
    for _ in range(3):
        api.spend(campaign, "0.1")
    (entry,) = history(api, campaign)
    assert entry["overshoot"] == {"campaign_daily_budget": "0.00"}
    assert Decimal(thresholds(api)[-1][-1]) == Decimal("0.30")


def test_a_lifetime_budget_crosses_its_thresholds_once_counting_only_its_flight(
    api: Api,
) -> None:
    first = today() - timedelta(days=1)
    campaign = api.campaign(api.brand(), start_date=str(first),
                            end_date=str(first + timedelta(days=3)), lifetime_budget="100.00")
    before_flight = datetime.combine(first - timedelta(days=1), time(12), UTC).isoformat()
    api.spend(campaign, "90.00", occurred_at=before_flight)  # not in the flight: no alert
    yesterday = datetime.combine(first, time(12), UTC).isoformat()
    api.spend(campaign, "50.00", occurred_at=yesterday)
    api.spend(campaign, "30.00")  # 80 of 100
    api.spend(campaign, "25.00")  # 105 of 100
    api.spend(campaign, "1.00")  # past both: nothing more
    lifetime = [t for t in thresholds(api) if t[2] == "lifetime"]
    assert lifetime == [("campaign", campaign["id"], "lifetime", 80, None, "100.00", "80.00"),
                        ("campaign", campaign["id"], "lifetime", 100, None, "100.00", "105.00")]


def test_a_lifetime_budget_without_dates_counts_all_spend(api: Api) -> None:
    campaign = api.campaign(api.brand(), lifetime_budget="10.00")
    api.spend(campaign, "10.00")
    assert [t[3] for t in thresholds(api) if t[2] == "lifetime"] == [80, 100]

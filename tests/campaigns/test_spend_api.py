"""Spend ingestion through HTTP: idempotency by event_id, all-or-nothing batches, bounded
queries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django_tenants.utils import schema_context

from campaigns.models import Spend, SpendTotal
from saas.db import connection
from tests.campaigns.conftest import Api, make_tenant

pytestmark = pytest.mark.django_db


def ledger_rows(api: Api) -> int:
    with schema_context(api.agency.schema_name):
        return Spend.objects.count()


def today_spend(api: Api, campaign: dict[str, Any]) -> str:
    return api.status(campaign)["evaluation"]["spend"]["campaign_today"]


def batch(api: Api, events: list[dict[str, Any]]) -> Any:
    return api.post("spend/batch", {"events": events})


# --- Single events: idempotency -------------------------------------------------------------

def test_a_retry_with_the_same_body_gets_the_first_response_and_counts_once(api: Api) -> None:
    campaign = api.campaign(api.brand(), daily_budget="10.00")
    at = datetime.now(UTC).replace(microsecond=0)
    event = {"campaign": campaign["id"], "amount": "10.00", "event_id": "etl-1",
             "occurred_at": at.isoformat()}
    first = api.ok(api.post("spend", event), 201)
    assert first["campaign_status"] == {"status": "paused",
                                        "pause_reasons": ["campaign_daily_budget"]}
    api.ok(api.post(f"campaigns/{campaign['id']}/resume"))
    # The same event, re-serialised: a number for the amount, the instant in another offset.
    retry = dict(event, amount=10,
                 occurred_at=at.astimezone(timezone(timedelta(hours=1))).isoformat())
    again = api.post("spend", retry)
    assert again.status_code == 200
    assert again.json() == first  # the first response, status as it was then
    assert ledger_rows(api) == 1
    with schema_context(api.agency.schema_name):
        assert [t.amount for t in SpendTotal.objects.order_by("period")] == [
            Decimal("10"), Decimal("10")]


def test_the_same_event_id_with_a_different_body_is_409_and_changes_nothing(api: Api) -> None:
    brand = api.brand()
    campaign, other = api.campaign(brand), api.campaign(brand, name="Other")
    api.spend(campaign, "1.00", event_id="etl-2")
    for different in ({"amount": "1.01"}, {"campaign": other["id"]},
                      {"occurred_at": "2026-03-01T12:00:00Z"}):
        body = {"campaign": campaign["id"], "amount": "1.00", "event_id": "etl-2", **different}
        response = api.post("spend", body)
        assert response.status_code == 409, response.content
        assert response.json()["error"] == "conflict"
        assert "event_id" in response.json()["message"]
    assert ledger_rows(api) == 1
    assert today_spend(api, campaign) == "1.00"
    assert today_spend(api, other) == "0.00"


def test_spends_without_event_id_are_never_deduplicated(api: Api) -> None:
    campaign = api.campaign(api.brand())
    for _ in range(3):
        assert api.spend(campaign, "1.00")["event_id"] is None
    assert today_spend(api, campaign) == "3.00"


def test_a_single_retry_of_an_event_first_sent_in_a_batch_is_200(api: Api) -> None:
    campaign = api.campaign(api.brand())
    event = {"campaign": campaign["id"], "amount": "2.5", "event_id": "b-1",
             "occurred_at": "2026-03-01T12:00:00Z"}
    api.ok(batch(api, [event]))
    replay = api.ok(api.post("spend", event), 200)
    assert replay["amount"] == "2.50" and replay["event_id"] == "b-1"
    assert replay["occurred_at"] == "2026-03-01T12:00:00Z"
    assert replay["campaign_status"] == {"status": "active", "pause_reasons": []}
    assert ledger_rows(api) == 1


# --- Batches ---------------------------------------------------------------------------------

def test_a_batch_stores_every_event_and_answers_each_touched_campaigns_status(api: Api) -> None:
    brand = api.brand(daily_budget="100.00")
    capped, free = api.campaign(brand, daily_budget="5.00"), api.campaign(brand, name="Free")
    events = [{"campaign": capped["id"], "amount": "2.50"} for _ in range(2)]
    events += [{"campaign": free["id"], "amount": 1.25, "event_id": f"f-{n}"} for n in range(4)]
    body = api.ok(batch(api, events))
    assert body == {"created": 6, "duplicates": 0, "campaigns": [
        {"id": capped["id"], "status": "paused", "pause_reasons": ["campaign_daily_budget"]},
        {"id": free["id"], "status": "active", "pause_reasons": []},
    ]}
    assert today_spend(api, capped) == "5.00"
    assert today_spend(api, free) == "5.00"
    history = api.ok(api.get(f"campaigns/{capped['id']}/history"))["results"]
    assert [(h["to"], h["cause"]) for h in history] == [("paused", "spend")]


def test_a_batch_that_uses_up_the_brand_cap_pauses_campaigns_it_did_not_touch(api: Api) -> None:
    brand = api.brand(daily_budget="10.00")
    touched, untouched = api.campaign(brand), api.campaign(brand, name="Untouched")
    body = api.ok(batch(api, [{"campaign": touched["id"], "amount": "10"}]))
    assert body["campaigns"] == [
        {"id": touched["id"], "status": "paused", "pause_reasons": ["brand_daily_budget"]}]
    assert api.status(untouched)["pause_reasons"] == ["brand_daily_budget"]


def test_repeats_within_a_batch_and_against_the_ledger_are_counted_not_stored(api: Api) -> None:
    campaign = api.campaign(api.brand())
    api.spend(campaign, "1.00", event_id="seen")
    event = {"campaign": campaign["id"], "amount": "2.00", "event_id": "new"}
    body = api.ok(batch(api, [
        event, dict(event), {"campaign": campaign["id"], "amount": "1", "event_id": "seen"},
    ]))
    assert body["created"] == 1 and body["duplicates"] == 2
    assert today_spend(api, campaign) == "3.00"
    again = api.ok(batch(api, [event]))
    assert again == {"created": 0, "duplicates": 1, "campaigns": [
        {"id": campaign["id"], "status": "active", "pause_reasons": []}]}
    assert ledger_rows(api) == 2


def test_a_repeat_within_a_batch_with_a_different_body_is_400_at_its_index(api: Api) -> None:
    campaign = api.campaign(api.brand())
    response = batch(api, [
        {"campaign": campaign["id"], "amount": "1", "event_id": "x"},
        {"campaign": campaign["id"], "amount": "1"},
        {"campaign": campaign["id"], "amount": "2", "event_id": "x"},
    ])
    assert response.status_code == 400, response.content
    assert list(response.json()["fields"]["events"]) == ["2"]
    assert "event_id" in response.json()["fields"]["events"]["2"]
    assert ledger_rows(api) == 0


def test_an_event_id_in_the_ledger_with_a_different_body_is_409_naming_the_index(
    api: Api,
) -> None:
    campaign = api.campaign(api.brand())
    api.spend(campaign, "1.00", event_id="taken")
    response = batch(api, [{"campaign": campaign["id"], "amount": "5"},
                           {"campaign": campaign["id"], "amount": "2", "event_id": "taken"}])
    assert response.status_code == 409, response.content
    assert response.json()["error"] == "conflict"
    assert "Event 1" in response.json()["message"] and "taken" in response.json()["message"]
    assert ledger_rows(api) == 1
    assert today_spend(api, campaign) == "1.00"


def test_unknown_and_foreign_campaigns_are_errors_by_index_and_store_nothing(api: Api) -> None:
    campaign = api.campaign(api.brand())
    response = batch(api, [{"campaign": campaign["id"], "amount": "1"},
                           {"campaign": 987654, "amount": "1"}])
    assert response.status_code == 400, response.content
    assert response.json()["fields"]["events"] == {"1": {"campaign": ["Unknown campaign."]}}
    assert "events: 1: campaign: Unknown campaign." in response.json()["message"]
    # Another agency (with no campaigns of its own) cannot spend on ours.
    connection.set_schema_to_public()
    other, other_token = make_tenant("other-agency")
    intruder = Api(Client(HTTP_HOST=f"other-agency.{settings.BASE_DOMAIN}"), other_token, other)
    response = batch(intruder, [{"campaign": campaign["id"], "amount": "1"}])
    assert response.status_code == 400, response.content
    assert response.json()["fields"]["events"] == {"0": {"campaign": ["Unknown campaign."]}}
    assert ledger_rows(api) == 0 and ledger_rows(intruder) == 0


def test_more_than_1000_events_is_413_and_stores_nothing(api: Api) -> None:
    campaign = api.campaign(api.brand())
    response = batch(api, [{"campaign": campaign["id"], "amount": "1"}] * 1001)
    assert response.status_code == 413, response.content
    assert response.json()["error"] == "payload_too_large"
    assert "1000" in response.json()["message"]
    assert ledger_rows(api) == 0


def test_an_empty_batch_does_nothing(api: Api) -> None:
    assert api.ok(batch(api, [])) == {"created": 0, "duplicates": 0, "campaigns": []}


# --- Bounded queries -------------------------------------------------------------------------
# Per request: the domain lookup and the token lookup (no `SET search_path`: the connection
# already serves this agency); the transaction's savepoint and its release (the test runs
# inside a transaction); the brand locks (which also read the brands); the write (events and
# totals in one statement); the decision's one read of the campaigns' caps, windows, totals
# and stored reasons; and a write of statuses and history only when some reasons change (none
# do here). An event with an event_id keeps its campaign's status in the
# write itself; only when the decision changes that status does one more statement keep it.
# A single spend takes the fast path (`campaigns.api.fast_spend`), whose one lookup finds the
# host's agency and the token together.
BATCH_QUERIES = 7
SINGLE_QUERIES = 6


@pytest.mark.parametrize("size", [10, 1000])
def test_a_batch_runs_the_same_number_of_queries_whatever_its_size(
    api: Api, django_assert_num_queries: Any, size: int
) -> None:
    brands = [api.brand(name=f"B{n}", daily_budget="100000") for n in range(3)]
    campaigns = [api.campaign(brand, name=f"C{n}") for brand in brands for n in range(3)]
    api.spend(campaigns[0], "1")  # the token's last use is now recorded: no write below
    events = [{"campaign": campaigns[n % len(campaigns)]["id"], "amount": "0.01",
               "event_id": f"q-{n}", "occurred_at": "2026-03-01T12:00:00Z"}
              for n in range(size)]
    with django_assert_num_queries(BATCH_QUERIES):
        body = api.ok(batch(api, events))
    assert body["created"] == size
    assert len(body["campaigns"]) == min(size, len(campaigns))


@pytest.mark.parametrize("event_id", [None, "with-id"])
def test_a_single_spend_runs_a_fixed_number_of_queries(
    api: Api, django_assert_num_queries: Any, event_id: str | None
) -> None:
    brand = api.brand(daily_budget="1000")
    campaign = api.campaign(brand)
    for n in range(5):
        api.campaign(brand, name=f"Sibling {n}")
    api.spend(campaign, "1")
    with django_assert_num_queries(SINGLE_QUERIES):
        response = api.post("spend", {"campaign": campaign["id"], "amount": "1",
                                      **({"event_id": event_id} if event_id else {})})
    assert response.status_code == 201 and response.served_by_fast_path


def test_occurred_at_is_answered_in_utc_the_first_time_and_on_replay(api: Api) -> None:
    campaign = api.campaign(api.brand())
    body = {"campaign": campaign["id"], "amount": "1", "event_id": "tz-1",
            "occurred_at": "2026-03-01T13:00:00+01:00"}
    first = api.ok(api.post("spend", body), 201)
    replay = api.ok(api.post("spend", body), 200)
    assert first["occurred_at"] == replay["occurred_at"] == "2026-03-01T12:00:00Z"


def test_a_full_batch_of_the_largest_events_still_fits(api: Any) -> None:
    campaign = api.campaign(api.brand())
    events = [{"campaign": campaign["id"], "amount": "0.000001",
               "occurred_at": "2026-03-01T12:00:00.123456+05:45", "event_id": f"{i:0200d}"}
              for i in range(1000)]

    response = api.post("spend/batch", {"events": events})

    assert response.status_code == 200, response.content[:300]
    assert response.json()["created"] == 1000

"""Flights and pacing through HTTP: the campaign fields and their validation, the reasons
`flight`, `campaign_lifetime_budget` and `pacing` as `run_jobs --now` applies them, and the
status endpoint's `evaluation.flight` and `evaluation.forecast`, with `?at=` (no sleeping)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from campaigns import services
from campaigns.api.fields import MONEY_PATTERN
from campaigns.models import Brand, Campaign, Period, SpendTotal
from campaigns.tenant_passes import run_for_schema
from saas.errors import InvalidInput
from tests.campaigns.test_jobs import PASS_QUERIES, PURGE_QUERIES, ZONES
from tests.conftest import Api, actor_for_tests
from tests.openapi import assert_documented

pytestmark = pytest.mark.django_db

BERLIN = "Europe/Berlin"


def reasons(api: Api, campaign: dict[str, Any]) -> list[str]:
    return api.ok(api.get(f"campaigns/{campaign['id']}"))["pause_reasons"]


def evaluation(api: Api, campaign: dict[str, Any], at: str) -> dict[str, Any]:
    return api.status(campaign, at)["evaluation"]


def flight_of(api: Api, campaign: dict[str, Any], at: str) -> dict[str, Any]:
    flight: dict[str, Any] = evaluation(api, campaign, at)["flight"]
    return flight


def berlin_flight(api: Api, **fields: Any) -> dict[str, Any]:
    brand = api.brand(timezone=BERLIN, **fields.pop("brand_fields", {}))
    fields.setdefault("start_date", "2026-03-28")
    fields.setdefault("end_date", "2026-03-30")
    return api.campaign(brand, **fields)


# --- The fields and their validation ---------------------------------------------------------


def test_a_campaign_shows_its_flight_fields_and_defaults_to_asap_without_dates(api: Api) -> None:
    campaign = api.campaign(api.brand())
    assert {k: campaign[k] for k in ("start_date", "end_date", "lifetime_budget", "pacing")} == {
        "start_date": None, "end_date": None, "lifetime_budget": None, "pacing": "asap"}
    flight = berlin_flight(api, lifetime_budget=720, pacing="even")
    assert {k: flight[k] for k in ("start_date", "end_date", "lifetime_budget", "pacing")} == {
        "start_date": "2026-03-28", "end_date": "2026-03-30", "lifetime_budget": "720.00",
        "pacing": "even"}


@pytest.mark.parametrize(("fields", "field"), [
    ({"start_date": "2026-03-01"}, "end_date"),
    ({"end_date": "2026-03-01"}, "start_date"),
    ({"start_date": "2026-03-02", "end_date": "2026-03-01"}, "end_date"),
    ({"pacing": "even"}, "pacing"),
    ({"pacing": "even", "lifetime_budget": "10"}, "pacing"),
    ({"pacing": "even", "start_date": "2026-03-01", "end_date": "2026-03-02"}, "pacing"),
    ({"pacing": "fast"}, "pacing"),
    ({"lifetime_budget": "1.001"}, "lifetime_budget"),
    ({"lifetime_budget": "-1"}, "lifetime_budget"),
    ({"lifetime_budget": "NaN"}, "lifetime_budget"),
    ({"start_date": "2026-02-30", "end_date": "2026-03-01"}, "start_date"),
    ({"start_date": "0001-01-01", "end_date": "2026-03-01"}, "start_date"),
    ({"start_date": "2026-03-01", "end_date": "9999-12-31"}, "end_date"),
    ({"start_date": "2026-03-01T00:00:00Z", "end_date": "2026-03-02"}, "start_date"),
])
def test_a_bad_flight_is_a_400_naming_the_field_and_stores_nothing(
    api: Api, fields: dict[str, Any], field: str
) -> None:
    brand = api.brand()
    response = api.post("campaigns", {"brand": brand["id"], "name": "c", **fields})
    assert response.status_code == 400, response.content
    assert field in response.json()["fields"]
    assert api.ok(api.get("campaigns"))["count"] == 0


def test_a_patch_is_validated_merged_with_the_stored_flight(api: Api) -> None:
    plain = api.campaign(api.brand())
    path = f"campaigns/{plain['id']}"
    assert api.patch(path, {"pacing": "even"}).status_code == 400
    assert api.patch(path, {"lifetime_budget": "100"}).status_code == 200
    assert api.patch(path, {"start_date": "2026-04-01"}).status_code == 400
    assert api.patch(path, {"pacing": "even"}).status_code == 400
    flight = api.ok(api.patch(path, {"start_date": "2026-04-01", "end_date": "2026-04-30",
                                     "pacing": "even"}))
    assert flight["pacing"] == "even" and flight["end_date"] == "2026-04-30"
    response = api.patch(path, {"end_date": "2026-03-31"})
    assert response.status_code == 400 and "end_date" in response.json()["fields"]
    response = api.patch(path, {"lifetime_budget": None})
    assert response.status_code == 400 and "pacing" in response.json()["fields"]
    # Back to asap, then without dates: each step valid on its own.
    api.ok(api.patch(path, {"pacing": "asap", "start_date": None, "end_date": None}))
    assert api.ok(api.get(path))["start_date"] is None


def test_the_openapi_schema_shows_the_flight_fields_and_the_status_body(
    api: Api, public_client: Client
) -> None:
    schema = public_client.get("/api/v1/schema/", {"format": "json"}).json()
    components = schema["components"]["schemas"]
    campaign = components["Campaign"]["properties"]
    assert {"start_date", "end_date", "lifetime_budget", "pacing"} <= set(campaign)
    assert campaign["lifetime_budget"]["pattern"] == MONEY_PATTERN
    assert set(components["FlightStatus"]["properties"]) == {
        "start_date", "end_date", "lifetime_budget", "spent", "remaining", "allowance_today",
        "pace"}
    ratio = components["Pace"]["properties"]["ratio"]
    assert ratio["type"] == "string" and "four places" in ratio["description"]
    # Real answers, with and without a flight and a forecast, are what the schema documents.
    brand = api.brand(timezone=BERLIN, daily_budget="100")
    plain = api.campaign(brand, daily_budget="50")
    flight = api.campaign(brand, lifetime_budget="300", start_date="2026-05-01",
                          end_date="2026-05-03", pacing="even")
    api.spend(plain, "10", occurred_at="2026-05-02T06:00:00Z")
    api.spend(flight, "10", occurred_at="2026-05-02T06:00:00Z")
    for campaign_body in (plain, flight):
        for at in ("2026-04-30T12:00:00Z", "2026-05-02T12:00:00+02:00"):
            body = api.status(campaign_body, at)
            assert_documented(schema, "/api/v1/campaigns/{id}/status", "get", 200, body)


# --- The reasons, as the jobs apply them -----------------------------------------------------


def test_a_flight_runs_from_its_first_local_midnight_to_the_one_after_its_last_day(
    api: Api,
) -> None:
    campaign = berlin_flight(api)
    api.run_jobs("2026-03-27T22:59:59Z")  # 23:59:59 in Berlin, the day before
    assert reasons(api, campaign) == ["flight"]
    api.run_jobs("2026-03-27T23:00:30Z")  # 30 s after the start date's midnight
    assert reasons(api, campaign) == []
    api.run_jobs("2026-03-30T21:59:59Z")  # the last second of the end date (CEST)
    assert reasons(api, campaign) == []
    api.run_jobs("2026-03-30T22:00:30Z")
    assert reasons(api, campaign) == ["flight"]
    history = api.ok(api.get(f"campaigns/{campaign['id']}/history"))["results"]
    assert [(h["to"], h["cause"]) for h in history[:2]] == [("paused", "job"), ("active", "job")]


def test_a_lifetime_budget_without_dates_covers_all_spend(api: Api) -> None:
    campaign = api.campaign(api.brand(), lifetime_budget="30")
    api.spend(campaign, "20", occurred_at="2026-03-01T12:00:00Z")
    body = api.spend(campaign, "10", occurred_at="2026-03-02T12:00:00Z")
    assert body["campaign_status"]["pause_reasons"] == ["campaign_lifetime_budget"]
    api.run_jobs("2026-03-03T00:00:30Z")  # a new day does not give it back
    assert reasons(api, campaign) == ["campaign_lifetime_budget"]
    assert evaluation(api, campaign, "2026-03-03T12:00:00Z")["flight"] is None
    api.ok(api.patch(f"campaigns/{campaign['id']}", {"lifetime_budget": "30.01"}))
    assert reasons(api, campaign) == []


def test_a_lifetime_budget_counts_only_spend_inside_the_flight(api: Api) -> None:
    campaign = berlin_flight(api, lifetime_budget="50")
    api.spend(campaign, "40", occurred_at="2026-03-27T22:30:00Z")  # 23:30 the day before
    api.spend(campaign, "40", occurred_at="2026-03-28T09:00:00Z")
    api.run_jobs("2026-03-28T10:00:00Z")
    assert reasons(api, campaign) == []
    flight = flight_of(api, campaign, "2026-03-28T10:00:00Z")
    assert (flight["spent"], flight["remaining"]) == ("40.00", "10.00")
    api.spend(campaign, "10", occurred_at="2026-03-28T11:00:00Z")
    api.run_jobs("2026-03-28T11:00:10Z")
    assert reasons(api, campaign) == ["campaign_lifetime_budget"]


def test_even_pacing_over_the_23_hour_spring_day(api: Api) -> None:
    """720.00 over 28, 29 (23 h: clocks go forward) and 30 March in Berlin: 24 + 23 + 24 hours.
    Day 1 gets 720 x 24/71 = 243.38 (cents rounded down); day 2 what is left, 476.62, times
    23/47 = 233.23 (233.2395...); day 3 all the rest, 243.39: exactly 720.00 in all."""
    campaign = berlin_flight(api, lifetime_budget="720.00", pacing="even")
    day_1 = "2026-03-28T12:00:00Z"
    assert flight_of(api, campaign, day_1)["allowance_today"] == "243.38"
    api.spend(campaign, "243.37", occurred_at="2026-03-28T08:00:00Z")
    api.run_jobs(day_1)
    assert reasons(api, campaign) == []
    api.spend(campaign, "0.01", occurred_at="2026-03-28T09:00:00Z")
    api.run_jobs(day_1)
    assert reasons(api, campaign) == ["pacing"]
    api.run_jobs("2026-03-28T23:00:30Z")  # 30 s after midnight (still CET)
    assert reasons(api, campaign) == []
    assert flight_of(api, campaign, "2026-03-29T10:00:00Z")["allowance_today"] == "233.23"
    api.spend(campaign, "233.23", occurred_at="2026-03-29T10:00:00Z")
    api.run_jobs("2026-03-29T10:00:05Z")
    assert reasons(api, campaign) == ["pacing"]
    api.run_jobs("2026-03-29T22:00:30Z")  # 30 s after midnight (now CEST)
    assert reasons(api, campaign) == []
    day_3 = flight_of(api, campaign, "2026-03-30T10:00:00Z")
    assert day_3["allowance_today"] == "243.39"
    api.spend(campaign, "243.39", occurred_at="2026-03-30T10:00:00Z")
    api.run_jobs("2026-03-30T10:00:05Z")
    assert reasons(api, campaign) == ["campaign_lifetime_budget", "pacing"]
    end = flight_of(api, campaign, "2026-03-30T21:59:59Z")
    assert (end["spent"], end["remaining"]) == ("720.00", "0.00")


def test_even_pacing_over_the_25_hour_autumn_day(api: Api) -> None:
    """300.00 over 24 and 25 October in Berlin (25 h: clocks go back): 300 x 24/49 = 146.93
    on the first day; the last day gets what is left, 153.07 once the first spent its own."""
    campaign = berlin_flight(api, lifetime_budget="300", pacing="even",
                             start_date="2026-10-24", end_date="2026-10-25")
    assert flight_of(api, campaign, "2026-10-24T12:00:00Z")["allowance_today"] == "146.93"
    api.spend(campaign, "146.93", occurred_at="2026-10-24T12:00:00Z")
    api.run_jobs("2026-10-24T12:00:05Z")
    assert reasons(api, campaign) == ["pacing"]
    api.run_jobs("2026-10-24T22:00:30Z")  # 30 s after midnight (CEST until 03:00)
    assert reasons(api, campaign) == []
    assert flight_of(api, campaign, "2026-10-25T12:00:00Z")["allowance_today"] == "153.07"


def test_a_dayparted_day_without_windows_has_an_allowance_of_0(api: Api) -> None:
    """Windows on Monday 30 March only (9:00 to 17:00): Saturday and Sunday get nothing, Monday
    all 720.00, and a day with nothing to spend is held by pacing as well as by dayparting."""
    campaign = berlin_flight(api, lifetime_budget="720", pacing="even", dayparting=True)
    api.ok(api.put(f"campaigns/{campaign['id']}/schedule",
                   {"windows": [{"day_of_week": 0, "start": "09:00", "end": "17:00"}]}))
    assert flight_of(api, campaign, "2026-03-28T12:00:00Z")["allowance_today"] == "0.00"
    api.run_jobs("2026-03-29T12:00:00Z")
    assert reasons(api, campaign) == ["dayparting", "pacing"]
    api.run_jobs("2026-03-30T07:00:30Z")  # 09:00:30 CEST on Monday
    assert reasons(api, campaign) == []
    assert flight_of(api, campaign, "2026-03-30T07:00:30Z")["allowance_today"] == "720.00"


# --- evaluation.flight: the pace ------------------------------------------------------------


def test_the_pace_compares_spend_with_the_expected_line_in_a_narrowing_band(api: Api) -> None:
    """1,000.00 over ten UTC days: at noon of day 3, 2.5 days of 10 have passed, so 250.00 is
    expected; the band is 0.25 - 0.24 x 0.25 = 0.19 wide."""
    campaign = api.campaign(api.brand(), lifetime_budget="1000", start_date="2026-05-01",
                            end_date="2026-05-10")
    api.spend(campaign, "210", occurred_at="2026-05-02T12:00:00Z")
    at = "2026-05-03T12:00:00Z"
    flight = flight_of(api, campaign, at)
    assert flight == {
        "start_date": "2026-05-01", "end_date": "2026-05-10", "lifetime_budget": "1000.00",
        "spent": "210.00", "remaining": "790.00", "allowance_today": None,
        "pace": {"expected": "250.00", "ratio": "0.8400", "state": "on_pace",
                 "projected_total": "840.00"},
    }
    api.spend(campaign, "1", occurred_at="2026-05-03T00:00:00Z")
    before = flight_of(api, campaign, "2026-04-30T12:00:00Z")["pace"]
    assert before == {"expected": "0.00", "ratio": None, "state": None,
                      "projected_total": None}
    # Late in the flight the band is narrow (0.034): 90 % of the line is behind.
    api.spend(campaign, "599", occurred_at="2026-05-09T00:00:00Z")
    late = flight_of(api, campaign, "2026-05-10T00:00:00Z")["pace"]
    assert late == {"expected": "900.00", "ratio": "0.9000", "state": "behind",
                    "projected_total": "900.00"}


def test_a_flight_without_a_lifetime_budget_has_no_expected_line(api: Api) -> None:
    campaign = api.campaign(api.brand(), start_date="2026-05-01", end_date="2026-05-10")
    api.spend(campaign, "50", occurred_at="2026-05-01T06:00:00Z")
    flight = flight_of(api, campaign, "2026-05-01T12:00:00Z")
    assert flight["lifetime_budget"] is None and flight["remaining"] is None
    assert flight["pace"] == {"expected": None, "ratio": None, "state": None,
                              "projected_total": "1000.00"}


# --- evaluation.forecast ----------------------------------------------------------------------


def test_the_forecast_says_when_todays_rate_uses_up_each_daily_cap(api: Api) -> None:
    brand = api.brand(timezone=BERLIN, daily_budget="300")
    campaign = api.campaign(brand, daily_budget="100")
    api.spend(campaign, "50", occurred_at="2026-05-04T03:00:00Z")  # 05:00 CEST
    at = "2026-05-04T04:00:00Z"  # 06:00 in Berlin: 50 in 6 hours
    assert evaluation(api, campaign, at)["forecast"] == {
        "campaign_daily": "2026-05-04T12:00:00+02:00",
        "brand_daily": None,  # 300 at that rate is 36 hours away: not today
    }
    api.spend(campaign, "50", occurred_at="2026-05-04T03:30:00Z")
    forecast = evaluation(api, campaign, at)["forecast"]
    assert forecast == {"campaign_daily": None,  # used up
                        "brand_daily": "2026-05-04T18:00:00+02:00"}


def test_the_forecast_with_dayparting_counts_only_scheduled_time(api: Api) -> None:
    campaign = api.campaign(api.brand(timezone=BERLIN), daily_budget="100", dayparting=True)
    api.ok(api.put(f"campaigns/{campaign['id']}/schedule",
                   {"windows": [{"day_of_week": 0, "start": "08:00", "end": "20:00"}]}))
    api.spend(campaign, "25", occurred_at="2026-05-04T07:00:00Z")  # Monday 09:00 CEST
    # 10:00: two scheduled hours passed, 25 spent; 75 more takes six scheduled hours.
    assert evaluation(api, campaign, "2026-05-04T08:00:00Z")["forecast"]["campaign_daily"] == (
        "2026-05-04T16:00:00+02:00")


def test_no_forecast_without_a_cap_or_without_spend(api: Api) -> None:
    campaign = api.campaign(api.brand(daily_budget="10"))
    assert evaluation(api, campaign, "2026-05-04T12:00:00Z")["forecast"] == {
        "campaign_daily": None, "brand_daily": None}


# --- Bounded queries --------------------------------------------------------------------------


@pytest.mark.parametrize("campaigns", [1, 30])
def test_the_status_of_a_flight_runs_the_same_queries_for_1_or_30_campaigns_of_its_brand(
    api: Api, campaigns: int, django_assert_num_queries: Any
) -> None:
    brand = api.brand(timezone=BERLIN, daily_budget="1000")
    made = [api.campaign(brand, name=f"c{i}", lifetime_budget="500", start_date="2026-05-01",
                         end_date="2026-05-31", pacing="even", daily_budget="50",
                         dayparting=bool(i % 2))
            for i in range(campaigns)]
    for campaign in made:
        api.spend(campaign, "10", occurred_at="2026-05-04T06:00:00Z")
    api.status(made[0], "2026-05-04T12:00:00Z")  # the token's last_used_at is written once
    # Token lookup, the campaign, the brand, the snapshot (one statement).
    with django_assert_num_queries(4):
        body = api.status(made[-1], "2026-05-04T12:00:00Z")
    assert body["evaluation"]["flight"]["spent"] == "10.00"


@pytest.mark.parametrize("campaigns", [1, 60])
def test_a_pass_over_flights_runs_the_same_statements_for_1_or_60_of_them(
    api: Api, campaigns: int, django_assert_num_queries: Any
) -> None:
    """Flights, lifetime budgets and even pacing in every zone add no statement to the pass:
    their spend comes with the snapshot's one statement."""
    schema = api.agency.schema_name
    with schema_context(schema):
        brands = Brand.objects.bulk_create(Brand(name=z, timezone=z) for z in ZONES)
        rows = Campaign.objects.bulk_create(
            Campaign(brand=brands[i % len(brands)], name=f"c{i}", lifetime_budget=Decimal(300),
                     start_date=date(2026, 3, 11 - i % 3), end_date=date(2026, 3, 13 - i % 3),
                     pacing="even" if i % 2 else "asap")
            for i in range(campaigns))
        SpendTotal.objects.bulk_create(
            SpendTotal(campaign=c, period=Period.DAY, period_start=date(2026, 3, 9),
                       amount=Decimal(150)) for c in rows)
    with django_assert_num_queries(PASS_QUERIES + PURGE_QUERIES):  # a full pass
        run_for_schema(schema, datetime(2026, 3, 10, 12, tzinfo=UTC))
    with schema_context(schema):
        paused = Campaign.objects.filter(status="paused").count()
    assert paused >= 1  # the flights starting on 11 March wait for their start


def test_the_readme_worked_example(api: Api) -> None:
    """README "Flights and pacing": 1,000.00 over Thu 26 to Sun 29 March 2026 in Berlin, evenly,
    dayparted (Mon-Fri 08-20, Sat 10-14, Sun 00-04, whose 02:00-03:00 the DST change skips)."""
    brand = api.brand(timezone=BERLIN, daily_budget="500")
    campaign = api.campaign(brand, name="Spring launch", daily_budget="400", dayparting=True,
                            start_date="2026-03-26", end_date="2026-03-29",
                            lifetime_budget="1000.00", pacing="even")
    windows = [{"day_of_week": d, "start": "08:00", "end": "20:00"} for d in range(5)] + [
        {"day_of_week": 5, "start": "10:00", "end": "14:00"},
        {"day_of_week": 6, "start": "00:00", "end": "04:00"}]
    api.ok(api.put(f"campaigns/{campaign['id']}/schedule", {"windows": windows}))
    api.spend(campaign, "250", occurred_at="2026-03-26T09:30:00+01:00")
    at = "2026-03-26T11:00:00+01:00"
    body = evaluation(api, campaign, at)
    assert body["forecast"] == {"campaign_daily": "2026-03-26T12:48:00+01:00",
                                "brand_daily": "2026-03-26T22:00:00+01:00"}
    assert body["flight"] == {
        "start_date": "2026-03-26", "end_date": "2026-03-29", "lifetime_budget": "1000.00",
        "spent": "250.00", "remaining": "750.00", "allowance_today": "387.09",
        "pace": {"expected": "96.77", "ratio": "2.5833", "state": "ahead",
                 "projected_total": "2583.33"}}
    api.spend(campaign, "137.09", occurred_at="2026-03-26T15:00:00+01:00")
    api.run_jobs("2026-03-26T15:00:05+01:00")
    assert reasons(api, campaign) == ["pacing"]
    api.run_jobs("2026-03-27T08:00:30+01:00")
    assert reasons(api, campaign) == []
    assert flight_of(api, campaign, "2026-03-27T12:00:00+01:00")["allowance_today"] == "387.10"
    api.spend(campaign, "387.10", occurred_at="2026-03-27T12:00:00+01:00")
    assert flight_of(api, campaign, "2026-03-28T12:00:00+01:00")["allowance_today"] == "129.03"
    api.spend(campaign, "129.03", occurred_at="2026-03-28T12:00:00+01:00")
    assert flight_of(api, campaign, "2026-03-29T01:00:00+01:00")["allowance_today"] == "96.78"


def test_an_edit_checks_the_flight_against_the_row_as_locked_not_as_read(api: Api) -> None:
    """Two edits each valid on what they read: the second one is refused with a 400, never
    stored and never a constraint error."""
    campaign = api.campaign(api.brand(), lifetime_budget="100", start_date="2026-05-01",
                            end_date="2026-05-31")
    with schema_context(api.agency.schema_name):
        read = Campaign.objects.get(pk=campaign["id"])
        edit = {"actor": actor_for_tests(), "now": datetime(2026, 5, 2, tzinfo=UTC)}
        services.update_campaign(read, {"start_date": None, "end_date": None}, **edit)
        with pytest.raises(InvalidInput) as refused:
            services.update_campaign(read, {"pacing": "even"}, **edit)
        assert "pacing" in refused.value.fields
        assert Campaign.objects.get(pk=campaign["id"]).pacing == "asap"

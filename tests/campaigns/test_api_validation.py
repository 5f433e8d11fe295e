"""Bad input is a 400 naming the field and changes nothing; ids of other agencies are 404."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from saas.db import connection
from tests.conftest import Api, make_tenant

pytestmark = pytest.mark.django_db


def assert_field_error(response: Any, field: str) -> None:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"] == "validation_error"
    assert field in body["fields"], body


@pytest.mark.parametrize(
    "timezone", ["Mars/Olympus", "", "utc+2", "../etc/passwd", "Europe/Pariss"]
)
def test_unknown_timezone_is_400(api: Api, timezone: str) -> None:
    assert_field_error(api.post("brands", {"name": "B", "timezone": timezone}), "timezone")
    assert api.ok(api.get("brands"))["count"] == 0


def test_timezone_is_required(api: Api) -> None:
    assert_field_error(api.post("brands", {"name": "B"}), "timezone")


@pytest.mark.parametrize("budget", ["-1", "10.001", "NaN", "Infinity", "abc", True, [], {},
                                    "1_000", "\u0663", "0x10"])
def test_bad_budgets_are_400(api: Api, budget: Any) -> None:
    assert_field_error(api.post("brands", {"name": "B", "timezone": "UTC",
                                           "daily_budget": budget}), "daily_budget")
    brand = api.brand()
    assert_field_error(api.post("campaigns", {"brand": brand["id"], "name": "C",
                                              "monthly_budget": budget}), "monthly_budget")
    assert api.ok(api.get("campaigns"))["count"] == 0


def test_budgets_are_decimal_strings_and_null_means_no_cap(api: Api) -> None:
    brand = api.brand(daily_budget=12.5, monthly_budget=None)
    assert brand["daily_budget"] == "12.50" and brand["monthly_budget"] is None
    assert brand["currency"] == "USD"


@pytest.mark.parametrize("zero", ["-0", "-0.00", -0, "0"])
def test_a_zero_budget_is_0_00_whatever_its_sign(api: Api, zero: Any) -> None:
    assert api.brand(daily_budget=zero)["daily_budget"] == "0.00"


@pytest.mark.parametrize("zone", ["localtime", "Factory", "EST", "posixrules", "Not/AZone"])
def test_a_zone_that_names_no_region_is_400(api: Api, zone: str) -> None:
    assert_field_error(api.post("brands", {"name": "B", "timezone": zone}), "timezone")


@pytest.mark.parametrize("zone", ["UTC", "Etc/GMT+5", "America/Argentina/Buenos_Aires"])
def test_region_zones_and_utc_are_accepted(api: Api, zone: str) -> None:
    assert api.brand(timezone=zone)["timezone"] == zone


def test_a_lowercase_currency_is_stored_in_capitals(api: Api) -> None:
    assert api.brand(currency="eur")["currency"] == "EUR"


def test_a_window_ending_at_00_00_runs_to_midnight(api: Api) -> None:
    campaign = api.campaign(api.brand(), dayparting=True)
    windows = [{"day_of_week": 0, "start": "22:00", "end": "00:00"}]

    api.ok(api.put(f"campaigns/{campaign['id']}/schedule", {"windows": windows}))

    assert api.ok(api.get(f"campaigns/{campaign['id']}/schedule"))["windows"] == [
        {"day_of_week": 0, "start": "22:00", "end": "24:00"}]
    inside = api.status(campaign, at="2026-03-02T23:59:00Z")["evaluation"]  # a Monday
    after = api.status(campaign, at="2026-03-03T00:00:00Z")["evaluation"]
    assert (inside["in_window"], after["in_window"]) == (True, False)


def test_unknown_currency_is_400(api: Api) -> None:
    for code in ("XYZ", "zz!", "US", "USDD", ""):
        assert_field_error(api.post("brands", {"name": "B", "timezone": "UTC", "currency": code}),
                           "currency")


@pytest.mark.parametrize("window", [
    {"day_of_week": 7, "start": "09:00", "end": "10:00"},
    {"day_of_week": -1, "start": "09:00", "end": "10:00"},
    {"day_of_week": 1, "start": "10:00", "end": "10:00"},
    {"day_of_week": 1, "start": "00:00", "end": "00:00"},
    {"day_of_week": 1, "start": "00:00", "end": "0:00"},
    {"day_of_week": 1, "start": "09:00", "end": 600},
    {"day_of_week": 1, "start": "24:00", "end": "10:00"},
    {"day_of_week": 1, "start": "9:00", "end": "10:00"},
    {"day_of_week": 1, "start": "09:60", "end": "10:00"},
    {"day_of_week": 1, "start": "09:00", "end": "24:01"},
    {"day_of_week": 1, "start": "09:00"},
    {"day_of_week": "monday", "start": "09:00", "end": "10:00"},
])
def test_bad_windows_are_400_and_keep_the_old_schedule(api: Api, window: dict[str, Any]) -> None:
    campaign = api.campaign(api.brand(), dayparting=True)
    good = [{"day_of_week": 2, "start": "08:00", "end": "12:00"}]
    api.ok(api.put(f"campaigns/{campaign['id']}/schedule", {"windows": good}))
    response = api.put(f"campaigns/{campaign['id']}/schedule", {"windows": [*good, window]})
    assert_field_error(response, "windows")
    assert api.ok(api.get(f"campaigns/{campaign['id']}/schedule")) == {"windows": good}


@pytest.mark.parametrize("at", [
    "2026-03-01T12:00:00", "2026-02-30T12:00:00Z", "yesterday", "", "2026-01-01T00:00:00+25:00",
    # What Python reads but no RFC 3339 instant is: a NUL, a space before Z, seconds in the
    # offset, the basic format.
    "2026-12-02T01:00:00\x00Z", "2026-12-02T01:00:00 Z", "2026-12-02T01:00:00+00:00:30",
    "20261202T010000Z",
    # Beyond what local days and months can be computed for (these were 500s).
    "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "9999-12-31T23:00:00Z",
])
def test_bad_what_if_instants_are_400(api: Api, at: str) -> None:
    campaign = api.campaign(api.brand(timezone="Pacific/Kiritimati"))
    assert_field_error(api.get(f"campaigns/{campaign['id']}/status", at=at), "at")
    assert_field_error(api.get(f"brands/{campaign['brand']}/status", at=at), "at")


@pytest.mark.parametrize("at", ["1900-01-01T00:00:00Z", "9998-12-31T23:59:59+12:00",
                                "2026-01-01T00:00:00+23:59"])
def test_what_if_at_the_edges_of_the_accepted_range(api: Api, at: str) -> None:
    brand = api.brand(timezone="Pacific/Kiritimati")
    campaign = api.campaign(brand)
    api.ok(api.get(f"campaigns/{campaign['id']}/status", at=at))
    api.ok(api.get(f"brands/{brand['id']}/status", at=at))


def test_a_campaign_cannot_move_to_another_brand(api: Api) -> None:
    first, second = api.brand(name="one"), api.brand(name="two")
    campaign = api.campaign(first)
    assert_field_error(api.patch(f"campaigns/{campaign['id']}", {"brand": second["id"]}), "brand")


def test_deleting_a_brand_or_campaign_with_spend_is_409(api: Api) -> None:
    brand = api.brand()
    campaign, unused = api.campaign(brand), api.campaign(brand, name="unused")
    api.spend(campaign, "1.00")
    for path in (f"brands/{brand['id']}", f"campaigns/{campaign['id']}"):
        response = api.delete(path)
        assert response.status_code == 409, response.content
        assert "spend" in response.json()["message"]
    assert api.delete(f"campaigns/{unused['id']}").status_code == 204
    assert api.ok(api.get("campaigns"))["count"] == 1


def test_deleting_a_brand_without_spend_removes_its_campaigns(api: Api) -> None:
    brand = api.brand()
    api.campaign(brand)
    assert api.delete(f"brands/{brand['id']}").status_code == 204
    assert api.ok(api.get("campaigns"))["count"] == 0


def test_lists_are_paginated_and_filter_by_brand(api: Api) -> None:
    first, second = api.brand(name="one"), api.brand(name="two")
    for n in range(3):
        api.campaign(first, name=f"c{n}")
    api.campaign(second, name="other")
    page = api.ok(api.get("campaigns", brand=first["id"], page_size=2))
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]
    # Unicode digits: "²" made int() fail (500), "٣" would have read as 3.
    for brand in ("x", "-1", "", "\u00b2", "\u0663"):
        assert_field_error(api.get("campaigns", brand=brand), "brand")


def test_unknown_ids_are_404_json(api: Api) -> None:
    for path in ("brands/999999", "campaigns/999999", "campaigns/999999/status",
                 "campaigns/abc", "campaigns/999999/history"):
        response = api.get(path)
        assert response.status_code == 404, path
        assert response.json()["message"]


def test_another_agencys_ids_are_404_and_change_nothing(api: Api) -> None:
    brand = api.brand(daily_budget="10")
    campaign = api.campaign(brand)
    connection.set_schema_to_public()
    other, token = make_tenant("engine-other")
    intruder = Api(Client(HTTP_HOST=f"{other.slug}.{settings.BASE_DOMAIN}"), token, other)
    calls = [
        intruder.get(f"brands/{brand['id']}"),
        intruder.patch(f"brands/{brand['id']}", {"daily_budget": "0"}),
        intruder.delete(f"brands/{brand['id']}"),
        intruder.get(f"brands/{brand['id']}/status"),
        intruder.get(f"campaigns/{campaign['id']}"),
        intruder.patch(f"campaigns/{campaign['id']}", {"name": "stolen"}),
        intruder.delete(f"campaigns/{campaign['id']}"),
        intruder.post(f"campaigns/{campaign['id']}/pause"),
        intruder.post(f"campaigns/{campaign['id']}/resume"),
        intruder.get(f"campaigns/{campaign['id']}/status"),
        intruder.get(f"campaigns/{campaign['id']}/history"),
        intruder.get(f"campaigns/{campaign['id']}/schedule"),
        intruder.put(f"campaigns/{campaign['id']}/schedule", {"windows": []}),
    ]
    assert [c.status_code for c in calls] == [404] * len(calls)
    spend = intruder.post("spend", {"campaign": campaign["id"], "amount": "5"})
    assert_field_error(spend, "campaign")
    assert intruder.ok(intruder.get("brands"))["count"] == 0
    mine = api.ok(api.get(f"campaigns/{campaign['id']}"))
    assert mine["name"] == "Campaign" and mine["status"] == "active"
    assert api.ok(api.get(f"brands/{brand['id']}"))["daily_budget"] == "10.00"


def test_put_on_a_brand_is_405(api: Api) -> None:
    brand = api.brand()
    response = api.put(f"brands/{brand['id']}", {"name": "x", "timezone": "UTC"})
    assert response.status_code == 405
    assert response.json()["message"]


def test_status_reports_the_evaluation_and_stored_state(api: Api) -> None:
    campaign = api.campaign(api.brand(timezone="Europe/Paris", monthly_budget="100"),
                            daily_budget="10")
    api.spend(campaign, "4")
    body = api.status(campaign)
    assert body["campaign"] == campaign["id"]
    assert body["status"] == "active" and body["pause_reasons"] == []
    evaluation = body["evaluation"]
    assert evaluation["can_run"] is True and evaluation["in_window"] is True
    assert evaluation["local_time"].endswith(("+01:00", "+02:00"))
    assert evaluation["spend"] == {"campaign_today": "4.00", "campaign_month": "4.00",
                                   "brand_today": "4.00", "brand_month": "4.00"}
    assert evaluation["remaining"] == {"campaign_daily": "6.00", "campaign_monthly": None,
                                       "brand_daily": None, "brand_monthly": "96.00"}


def test_an_unknown_agency_host_is_a_json_404(api: Api) -> None:
    client = Client(HTTP_HOST=f"nobody-here.{settings.BASE_DOMAIN}")
    response = client.get("/api/v1/brands", HTTP_AUTHORIZATION=f"Bearer {api.token}")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"

"""The agency's admin edits budgets through the same services as the API."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from accounts.models import User
from campaigns.models import Brand, Campaign, Spend

pytestmark = pytest.mark.django_db


def admin_client(agency: Any) -> Client:
    client = Client(HTTP_HOST=agency.domain)
    with schema_context(agency.agency.schema_name):
        client.force_login(User.objects.get(email=agency.email))
    return client


def api_post(agency: Any, path: str, body: dict[str, Any]) -> Any:
    response = agency.client().post(f"/api/v1/{path}", json.dumps(body),
                                    content_type="application/json")
    assert response.status_code in (200, 201), response.content
    return response.json()


def test_the_admin_refuses_an_unknown_time_zone(make_agency: Callable[..., Any]) -> None:
    acme = make_agency("acme")
    response = admin_client(acme).post("/admin/campaigns/brand/add/", {
        "name": "B", "timezone": "Not/AZone", "currency": "USD"})
    assert response.status_code == 200  # the form again, with its error
    assert "Unknown IANA time zone" in response.content.decode()
    with schema_context(acme.agency.schema_name):
        assert not Brand.objects.exists()


def test_the_admin_moves_a_brand_with_spend_to_another_time_zone(
    make_agency: Callable[..., Any]
) -> None:
    acme = make_agency("acme")
    brand = api_post(acme, "brands", {"name": "B", "timezone": "Europe/Paris"})
    campaign = api_post(acme, "campaigns", {"brand": brand["id"], "name": "C"})
    api_post(acme, "spend", {"campaign": campaign["id"], "amount": "1",
                             "occurred_at": "2026-03-01T20:00:00Z"})  # 2 March in Tokyo
    client = admin_client(acme)
    response = client.post(f"/admin/campaigns/brand/{brand['id']}/change/", {
        "name": "Renamed", "timezone": "Asia/Tokyo", "currency": "USD"})
    assert response.status_code == 302
    with schema_context(acme.agency.schema_name):
        saved = Brand.objects.get(pk=brand["id"])
        assert (saved.name, saved.timezone) == ("Renamed", "Asia/Tokyo")
        assert [str(day) for day in Spend.objects.values_list("local_day", flat=True)] == [
            "2026-03-02"]


def test_an_admin_edit_keeps_the_manual_pause_and_re_decides(
    make_agency: Callable[..., Any]
) -> None:
    acme = make_agency("acme")
    brand = api_post(acme, "brands", {"name": "B", "timezone": "UTC"})
    campaign = api_post(acme, "campaigns", {"brand": brand["id"], "name": "C"})
    api_post(acme, f"campaigns/{campaign['id']}/pause", {})
    response = admin_client(acme).post(f"/admin/campaigns/campaign/{campaign['id']}/change/", {
        "name": "C", "daily_budget": "0", "monthly_budget": "", "dayparting": "", "pacing": "asap",
        "windows-TOTAL_FORMS": "0", "windows-INITIAL_FORMS": "0",
        "windows-MIN_NUM_FORMS": "0", "windows-MAX_NUM_FORMS": "1000"})
    assert response.status_code == 302, response.content.decode()[:2000]
    with schema_context(acme.agency.schema_name):
        saved = Campaign.objects.get(pk=campaign["id"])
        assert saved.manual_paused
        assert saved.pause_reasons == ["manual", "campaign_daily_budget"]
        assert saved.brand_id == brand["id"]


@pytest.mark.parametrize("zone", ["localtime", "Factory"])
def test_the_admin_refuses_a_zone_that_names_no_region(
    make_agency: Callable[..., Any], zone: str
) -> None:
    acme = make_agency("acme")
    response = admin_client(acme).post("/admin/campaigns/brand/add/", {
        "name": "B", "timezone": zone, "currency": "USD"})
    assert response.status_code == 200
    with schema_context(acme.agency.schema_name):
        assert not Brand.objects.exists()


def test_the_admin_refuses_a_currency_the_api_refuses(make_agency: Callable[..., Any]) -> None:
    acme = make_agency("acme")
    response = admin_client(acme).post("/admin/campaigns/brand/add/", {
        "name": "B", "timezone": "UTC", "currency": "zz!"})
    assert response.status_code == 200
    assert "ISO 4217" in response.content.decode()
    with schema_context(acme.agency.schema_name):
        assert not Brand.objects.exists()


def change_with_window(client: Client, campaign: dict[str, Any], window: dict[str, str],
                       *, dayparting: bool) -> Any:
    return client.post(f"/admin/campaigns/campaign/{campaign['id']}/change/", {
        "name": "C", "daily_budget": "", "monthly_budget": "", "pacing": "asap",
        "dayparting": "on" if dayparting else "",
        "windows-TOTAL_FORMS": "1", "windows-INITIAL_FORMS": "0",
        "windows-MIN_NUM_FORMS": "0", "windows-MAX_NUM_FORMS": "1000",
        **{f"windows-0-{name}": value for name, value in window.items()}})


def test_the_admin_refuses_a_window_that_starts_when_it_ends(
    make_agency: Callable[..., Any]
) -> None:
    acme = make_agency("acme")
    brand = api_post(acme, "brands", {"name": "B", "timezone": "UTC"})
    campaign = api_post(acme, "campaigns", {"brand": brand["id"], "name": "C"})
    client = admin_client(acme)

    response = change_with_window(client, campaign, {"day_of_week": "1", "start": "10:00",
                                                     "end": "10:00"}, dayparting=False)

    assert response.status_code == 200  # the form again, with its error
    with schema_context(acme.agency.schema_name):
        assert not Campaign.objects.get(pk=campaign["id"]).windows.exists()
    # ...so dayparting can be switched on, and the campaign is decided (it was a 500)
    response = change_with_window(client, campaign, {"day_of_week": "1", "start": "10:00",
                                                     "end": "11:00"}, dayparting=True)
    assert response.status_code == 302, response.content.decode()[:1000]
    status = acme.client().get(f"/api/v1/campaigns/{campaign['id']}/status").json()
    assert "in_window" in status["evaluation"]


def test_the_admin_reads_a_currency_in_capitals_as_the_api_does(
    make_agency: Callable[..., Any]
) -> None:
    acme = make_agency("acme")
    response = admin_client(acme).post("/admin/campaigns/brand/add/", {
        "name": "B", "timezone": "UTC", "currency": "eur"})
    assert response.status_code == 302
    with schema_context(acme.agency.schema_name):
        assert Brand.objects.get().currency == "EUR"


def test_the_admin_writes_windows_as_the_api_does(make_agency: Callable[..., Any]) -> None:
    acme = make_agency("acme")
    brand = api_post(acme, "brands", {"name": "B", "timezone": "UTC"})
    campaign = api_post(acme, "campaigns", {"brand": brand["id"], "name": "C"})
    client = admin_client(acme)
    saved = change_with_window(client, campaign, {"day_of_week": "4", "start": "22:00",
                                                  "end": "00:00"}, dayparting=True)
    assert saved.status_code == 302
    schedule = acme.client().get(f"/api/v1/campaigns/{campaign['id']}/schedule").json()
    assert schedule == {"windows": [{"day_of_week": 4, "start": "22:00", "end": "24:00"}]}
    page = client.get(f"/admin/campaigns/campaign/{campaign['id']}/change/").content.decode()
    assert 'value="22:00"' in page and 'value="24:00"' in page
    bad = change_with_window(client, campaign, {"day_of_week": "4", "start": "25:00",
                                                "end": "01:00"}, dayparting=True)
    assert bad.status_code == 200 and "Expected HH:MM" in bad.content.decode()


WINDOWS_NONE = {"windows-TOTAL_FORMS": "0", "windows-INITIAL_FORMS": "0",
                "windows-MIN_NUM_FORMS": "0", "windows-MAX_NUM_FORMS": "1000"}


def test_the_admin_adds_a_flight_and_refuses_what_the_api_refuses(
    make_agency: Callable[..., Any]
) -> None:
    acme = make_agency("acme")
    brand = api_post(acme, "brands", {"name": "B", "timezone": "Europe/Berlin"})
    client = admin_client(acme)
    response = client.post("/admin/campaigns/campaign/add/", {
        "brand": brand["id"], "name": "Flight", "daily_budget": "", "monthly_budget": "",
        "start_date": "2026-05-01", "end_date": "2026-05-31", "lifetime_budget": "3100",
        "pacing": "even", **WINDOWS_NONE})
    assert response.status_code == 302, response.content.decode()[:2000]
    with schema_context(acme.agency.schema_name):
        saved = Campaign.objects.get(name="Flight")
        assert (str(saved.start_date), str(saved.end_date), saved.pacing) == (
            "2026-05-01", "2026-05-31", "even")
        assert str(saved.lifetime_budget) == "3100.00"
    for change, message in (
        ({"start_date": "", "end_date": ""}, "Even pacing needs both dates"),
        ({"end_date": "2026-04-30"}, "The flight cannot end before it starts"),
        ({"end_date": ""}, "both a start and an end date"),
        ({"lifetime_budget": "-1"}, "campaign_lifetime_budget_gte_0"),  # its check constraint
    ):
        response = client.post(f"/admin/campaigns/campaign/{saved.pk}/change/", {
            "name": "Flight", "daily_budget": "", "monthly_budget": "",
            "start_date": "2026-05-01", "end_date": "2026-05-31", "lifetime_budget": "3100",
            "pacing": "even", **WINDOWS_NONE, **change})
        assert response.status_code == 200, change  # the form again, with its error
        assert message in response.content.decode(), change
    with schema_context(acme.agency.schema_name):
        assert Campaign.objects.get(pk=saved.pk).end_date == saved.end_date

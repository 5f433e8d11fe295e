"""The dashboard as a signed-in person sees it, without a browser: sign-in, isolation between
agencies, the overview's words and bars, pause/resume, the campaign page, bounded queries."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from campaigns import clock, ledger
from campaigns.models import Brand, Campaign, StatusChange
from tests.conftest import SignedUpAgency
from tests.dashboard.conftest import csrf_token, sign_in

pytestmark = pytest.mark.django_db


def spend(agency: SignedUpAgency, campaign: Campaign, amount: str) -> None:
    with schema_context(agency.agency.schema_name):
        event = ledger.SpendEvent(campaign.pk, Decimal(amount), None, None)
        ledger.record_spend(event, now=timezone.now())


def reload(agency: SignedUpAgency, campaign: Campaign) -> Campaign:
    with schema_context(agency.agency.schema_name):
        return Campaign.objects.get(pk=campaign.pk)


def row_of(page: str, campaign: Campaign) -> str:
    match = re.search(rf'<tr id="campaign-{campaign.pk}".*?</tr>', page, re.S)
    assert match, f"campaign {campaign.pk} is not on the page"
    return match.group(0)


# --- Sign-in -------------------------------------------------------------------------------

def test_every_page_requires_sign_in(agency_client: Client, agency: SignedUpAgency,
                                     add_brand: Callable[..., Brand],
                                     add_campaign: Callable[..., Campaign]) -> None:
    campaign = add_campaign(add_brand())
    for path in ("/", f"/campaigns/{campaign.pk}/"):
        response = agency_client.get(path)
        assert response.status_code == 302
        assert response["Location"] == f"/login/?next={path}"
    response = agency_client.post(f"/campaigns/{campaign.pk}/pause/")
    assert response.status_code == 302
    assert reload(agency, campaign).manual_paused is False


def test_a_poll_after_the_session_ended_asks_htmx_to_load_the_sign_in_page(
    agency_client: Client,
) -> None:
    response = agency_client.get("/", HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    assert response["HX-Redirect"] == "/login/?next=%2F"


def test_sign_in_with_email_and_password_needs_the_csrf_token(agency: SignedUpAgency) -> None:
    client = Client(HTTP_HOST=agency.domain, enforce_csrf_checks=True)
    page = client.get("/login/")
    assert page.status_code == 200
    assert b'type="email"' in page.content and b">Email<" in page.content
    forged = client.post("/login/", {"username": agency.email, "password": agency.password})
    assert forged.status_code == 403

    response = sign_in(client, agency.email.upper(), agency.password)
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200


def test_wrong_password_shows_the_form_again_with_a_message(agency: SignedUpAgency) -> None:
    client = Client(HTTP_HOST=agency.domain)
    response = sign_in(client, agency.email, "not-the-password")
    assert response.status_code == 200
    assert b"do not match an account of this agency" in response.content


def test_repeated_failures_are_throttled_with_a_readable_page(agency: SignedUpAgency) -> None:
    client = Client(HTTP_HOST=agency.domain)
    for _ in range(5):
        sign_in(client, agency.email, "not-the-password")
    locked = sign_in(client, agency.email, agency.password)  # even the right password now
    assert locked.status_code == 429
    page = locked.content.decode()
    assert "Too many sign-in attempts" in page
    assert "15 minutes" in page
    assert client.get("/").status_code == 302


def test_logout_is_a_post_and_ends_the_session(signed_in: Client) -> None:
    assert signed_in.get("/logout/").status_code == 405
    response = signed_in.post("/logout/", {"csrfmiddlewaretoken": csrf_token(signed_in, "/")})
    assert response.status_code == 302
    assert response["Location"] == "/login/"
    assert signed_in.get("/").status_code == 302


def test_another_agencys_user_cannot_sign_in_and_sees_nothing(
    make_agency: Callable[..., SignedUpAgency],
) -> None:
    acme, globex = make_agency("acme"), make_agency("globex")
    with schema_context(acme.agency.schema_name):
        Brand.objects.create(name="Acme Secret Brand", timezone="UTC")

    intruder = Client(HTTP_HOST=acme.domain)
    response = sign_in(intruder, globex.email, globex.password)
    assert response.status_code == 200  # the form again
    assert intruder.get("/").status_code == 302

    # A session of globex's dashboard means nothing on acme's host.
    own = Client(HTTP_HOST=globex.domain)
    assert sign_in(own, globex.email, globex.password).status_code == 302
    assert b"Acme Secret Brand" not in own.get("/").content
    carried = Client(HTTP_HOST=acme.domain)
    carried.cookies = own.cookies
    response = carried.get("/")
    assert response.status_code == 302
    assert b"Acme Secret Brand" not in response.content


# --- The overview --------------------------------------------------------------------------

def test_overview_shows_brands_with_bars_and_campaigns_with_reasons_in_words(
    agency: SignedUpAgency, signed_in: Client, add_brand: Callable[..., Brand],
    add_campaign: Callable[..., Campaign],
) -> None:
    brand = add_brand("Maison", "Europe/Paris", daily_budget=Decimal("100.00"),
                      monthly_budget=Decimal("1000.00"))
    capped = add_campaign(brand, "Capped", daily_budget=Decimal("50.00"))
    running = add_campaign(brand, "Running")
    spend(agency, capped, "50")
    spend(agency, running, "35")

    page = signed_in.get("/").content.decode()
    assert "Maison" in page and "Europe/Paris" in page
    assert "85.00</strong> of 100.00" in page  # today's brand spend against its budget
    assert 'class="fill warn" style="width: 85%"' in page  # >= 80 %: the warning colour
    assert "15.00 left" in page
    capped_row = row_of(page, capped)
    assert 'data-status="paused"' in capped_row
    assert "Daily budget of the campaign used up" in capped_row
    assert "Resumes at 00:00 Europe/Paris" in capped_row
    assert 'class="fill full"' in capped_row
    assert 'data-status="active"' in row_of(page, running)


def test_a_used_up_brand_budget_pauses_every_campaign_with_the_brands_reason(
    agency: SignedUpAgency, signed_in: Client, add_brand: Callable[..., Brand],
    add_campaign: Callable[..., Campaign],
) -> None:
    brand = add_brand("Hudson", "America/New_York", monthly_budget=Decimal("20.00"))
    first, second = add_campaign(brand, "First"), add_campaign(brand, "Second")
    spend(agency, first, "20")
    page = signed_in.get("/").content.decode()
    for campaign in (first, second):
        row = row_of(page, campaign)
        assert "Monthly budget of the brand used up" in row
        assert "Resumes at 00:00 America/New_York" in row
        assert "new month" in row


def test_dayparting_pause_names_the_next_window_start(
    agency: SignedUpAgency, signed_in: Client, add_brand: Callable[..., Brand],
    add_campaign: Callable[..., Campaign],
) -> None:
    brand = add_brand("Himalaya", "Asia/Kathmandu")
    tz = ZoneInfo("Asia/Kathmandu")
    local = timezone.now().astimezone(tz)
    # A two-minute window that opens in about two hours: closed now, whatever the time.
    start = (local.hour * 60 + local.minute + 120) % 1440
    windows = [clock.Window(day, start, (start + 2) % 1440 or 1440) for day in range(7)]
    campaign = add_campaign(brand, "Morning", windows=windows)
    row = row_of(signed_in.get("/").content.decode(), campaign)
    assert "Outside its dayparting hours" in row
    assert f"Resumes at {clock.format_hhmm(start)} Asia/Kathmandu" in row


def test_pause_and_resume_buttons_switch_the_users_own_pause(
    agency: SignedUpAgency, signed_in: Client, add_brand: Callable[..., Brand],
    add_campaign: Callable[..., Campaign],
) -> None:
    campaign = add_campaign(add_brand())
    token = csrf_token(signed_in, "/")
    response = signed_in.post(f"/campaigns/{campaign.pk}/pause/",
                              {"csrfmiddlewaretoken": token, "next": "/"})
    assert response.status_code == 302 and response["Location"] == "/"
    paused = reload(agency, campaign)
    assert (paused.status, paused.pause_reasons) == ("paused", ["manual"])
    row = row_of(signed_in.get("/").content.decode(), campaign)
    assert "Paused by you" in row and ">Resume</button>" in row

    detail = f"/campaigns/{campaign.pk}/"
    response = signed_in.post(f"/campaigns/{campaign.pk}/resume/",
                              {"csrfmiddlewaretoken": token, "next": detail})
    assert response["Location"] == detail
    resumed = reload(agency, campaign)
    assert (resumed.status, resumed.pause_reasons) == ("active", [])
    with schema_context(agency.agency.schema_name):
        changes = StatusChange.objects.filter(campaign=campaign)
        causes = list(changes.values_list("cause", flat=True))
    assert causes == ["manual", "manual"]
    assert "is running again" in signed_in.get(detail).content.decode()


def test_buttons_refuse_a_get_a_missing_csrf_token_and_a_foreign_next(
    agency: SignedUpAgency, signed_in: Client, add_brand: Callable[..., Brand],
    add_campaign: Callable[..., Campaign],
) -> None:
    campaign = add_campaign(add_brand())
    assert signed_in.get(f"/campaigns/{campaign.pk}/pause/").status_code == 405
    assert signed_in.post(f"/campaigns/{campaign.pk}/pause/").status_code == 403
    assert reload(agency, campaign).manual_paused is False
    response = signed_in.post(f"/campaigns/{campaign.pk}/pause/", {
        "csrfmiddlewaretoken": csrf_token(signed_in, "/"), "next": "https://evil.example/"})
    assert response["Location"] == "/"
    assert signed_in.post("/campaigns/999999/pause/", {
        "csrfmiddlewaretoken": csrf_token(signed_in, "/")}).status_code == 404


def test_htmx_polls_get_only_the_live_fragment(signed_in: Client) -> None:
    response = signed_in.get("/", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="live"')
    assert "<html" not in body
    assert 'hx-trigger="every 10s"' in body
    assert "HX-Request" in response["Vary"]
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


def test_pages_work_without_javascript_and_load_nothing_from_elsewhere(
    signed_in: Client,
) -> None:
    page = signed_in.get("/").content.decode()
    assert '<meta http-equiv="refresh"' in page  # inside <noscript>: reload without htmx
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert all(not s.startswith(("http:", "https:", "//")) for s in sources), sources
    assert "/static/dashboard/vendor/htmx.min.js" in sources
    assert signed_in.get("/static/dashboard/vendor/htmx.min.js").status_code == 200


# --- The campaign page ---------------------------------------------------------------------

def test_campaign_page_charts_30_local_days_and_lists_the_history(
    agency: SignedUpAgency, signed_in: Client, add_brand: Callable[..., Brand],
    add_campaign: Callable[..., Campaign],
) -> None:
    brand = add_brand("Maison", "Europe/Paris")
    campaign = add_campaign(brand, "Spring", daily_budget=Decimal("40.00"))
    paris = ZoneInfo("Europe/Paris")
    today = timezone.now().astimezone(paris).date()
    with schema_context(agency.agency.schema_name):
        for days_ago, amount in ((0, "40"), (3, "12.5"), (29, "7"), (30, "99")):
            # Local noon: the same clock time N days ago can fall on another local day
            # across a DST change (30 days before 23:05 CET is 00:05 CEST).
            at = datetime.combine(today - timedelta(days=days_ago), time(12), tzinfo=paris)
            ledger.record_spend(ledger.SpendEvent(campaign.pk, Decimal(amount), at, None), now=at)

    page = signed_in.get(f"/campaigns/{campaign.pk}/").content.decode()
    bars = re.findall(r'<rect class="bar (\w+)"[^>]*><title>([^<]+)</title>', page)
    assert len(bars) == 30
    assert bars[-1][0] == "today" and bars[-1][1].endswith(": 40.00")
    assert bars[-4][1].endswith(": 12.50")
    assert bars[0][1].endswith(": 7.00")  # 29 days ago is the first bar; 30 days ago is not
    assert "Daily cap 40.00" in page
    assert "59.50 EUR in all" in page
    assert "Daily budget of the campaign used up" in page  # the history says why
    assert "A spend" in page


def test_campaign_page_of_another_agency_is_not_found(
    make_agency: Callable[..., SignedUpAgency], signed_in: Client,
) -> None:
    other = make_agency("globex")
    with schema_context(other.agency.schema_name):
        brand = Brand.objects.create(name="Globex Brand", timezone="UTC")
        campaign = Campaign.objects.create(brand=brand, name="Globex Campaign")
    # Ids are per schema: acme has no campaign at all, so this id is only globex's.
    assert signed_in.get(f"/campaigns/{campaign.pk}/").status_code == 404


# --- Bounded queries -----------------------------------------------------------------------

def count_queries(client: Client, path: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries)


def test_overview_queries_do_not_grow_with_campaigns(
    agency: SignedUpAgency, signed_in: Client, add_brand: Callable[..., Brand],
    add_campaign: Callable[..., Campaign],
) -> None:
    def add_some(count: int) -> None:
        for number in range(count):
            brand = add_brand(f"Brand {number}", ("UTC", "Asia/Kathmandu")[number % 2],
                              daily_budget=Decimal("100"))
            campaign = add_campaign(
                brand, f"Campaign {number}", daily_budget=Decimal("10"),
                windows=[clock.Window(0, 60, 120)] if number % 3 == 0 else None,
            )
            spend(agency, campaign, str(number + 1))

    add_some(3)
    few = count_queries(signed_in, "/")
    add_some(27)
    many = count_queries(signed_in, "/")
    assert few == many
    assert many <= 12
    with schema_context(agency.agency.schema_name):
        last = Campaign.objects.order_by("-id").first()
    assert last is not None
    assert count_queries(signed_in, f"/campaigns/{last.pk}/") <= 14


def test_a_post_from_another_agencys_origin_is_refused(
    agency: SignedUpAgency, signed_in: Client, add_brand: Callable[..., Brand],
    add_campaign: Callable[..., Campaign],
) -> None:
    campaign = add_campaign(add_brand())
    token = csrf_token(signed_in, "/")
    for origin in ("http://evil.localhost", "http://localhost"):
        response = signed_in.post(f"/campaigns/{campaign.pk}/pause/",
                                  {"csrfmiddlewaretoken": token}, HTTP_ORIGIN=origin)
        assert response.status_code == 403, origin
    assert reload(agency, campaign).manual_paused is False
    own = signed_in.post(f"/campaigns/{campaign.pk}/pause/", {"csrfmiddlewaretoken": token},
                         HTTP_ORIGIN=f"http://{agency.domain}")
    assert own.status_code == 302


def fail_five_times(client: Client, email: str) -> None:
    answers = [sign_in(client, email, "not-the-password").status_code for _ in range(5)]
    assert answers == [200, 200, 200, 200, 429]  # the fifth failure locks that pair out


def test_failures_with_made_up_emails_lock_out_nobody_else(agency: SignedUpAgency) -> None:
    attacker = Client(HTTP_HOST=agency.domain)
    for number in range(6):
        fail_five_times(attacker, f"nobody{number}@acme.example")

    colleague = Client(HTTP_HOST=agency.domain)  # the same address (one proxy, one office)
    assert sign_in(colleague, agency.email, agency.password).status_code == 302


def test_a_locked_user_can_still_sign_in_from_another_address(agency: SignedUpAgency) -> None:
    fail_five_times(Client(HTTP_HOST=agency.domain, REMOTE_ADDR="203.0.113.9"), agency.email)

    locked = sign_in(Client(HTTP_HOST=agency.domain, REMOTE_ADDR="203.0.113.9"),
                     agency.email, agency.password)
    elsewhere = sign_in(Client(HTTP_HOST=agency.domain, REMOTE_ADDR="198.51.100.4"),
                        agency.email, agency.password)
    assert (locked.status_code, elsewhere.status_code) == (429, 302)


def test_behind_the_proxy_the_address_it_forwarded_counts(
    agency: SignedUpAgency, settings: Any
) -> None:
    settings.HTTPS = True  # what saas.clients reads: the proxy in front is trusted
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    client = Client(HTTP_HOST=agency.domain, **proxy, HTTP_X_FORWARDED_FOR="203.0.113.9")
    fail_five_times(client, agency.email)
    # The same user through the same proxy from another client address is not locked out,
    # whatever the locked-out client claims in its own X-Forwarded-For.
    other = Client(HTTP_HOST=agency.domain, **proxy, HTTP_X_FORWARDED_FOR="198.51.100.4")
    spoofed = Client(HTTP_HOST=agency.domain, **proxy,
                     HTTP_X_FORWARDED_FOR="198.51.100.4, 203.0.113.9")
    assert sign_in(other, agency.email, agency.password).status_code == 302
    assert sign_in(spoofed, agency.email, agency.password).status_code == 429


def test_without_the_proxy_a_forwarded_address_is_not_believed(agency: SignedUpAgency) -> None:
    for number in range(5):
        client = Client(HTTP_HOST=agency.domain, HTTP_X_FORWARDED_FOR=f"192.0.2.{number}")
        sign_in(client, agency.email, "not-the-password")
    locked = sign_in(Client(HTTP_HOST=agency.domain, HTTP_X_FORWARDED_FOR="192.0.2.200"),
                     agency.email, agency.password)
    assert locked.status_code == 429


# --- Flights -------------------------------------------------------------------------------

def test_a_flights_page_shows_its_pace_allowance_and_forecast_and_edits_the_flight(
    signed_in: Client, agency: SignedUpAgency, add_brand: Callable[..., Brand],
    add_campaign: Callable[..., Campaign],
) -> None:
    brand = add_brand(daily_budget=Decimal("900"))
    tz = ZoneInfo(brand.timezone)
    today = clock.local_day(timezone.now(), tz)
    campaign = add_campaign(brand, daily_budget=Decimal("800"))
    path = f"/campaigns/{campaign.pk}/"
    form = {"start_date": str(today - timedelta(days=2)), "end_date": str(today + timedelta(3)),
            "lifetime_budget": "600", "pacing": "even"}
    token = csrf_token(signed_in, path)
    refused = signed_in.post(f"{path}flight/", {**form, "end_date": "",
                                                "csrfmiddlewaretoken": token}, follow=True)
    assert "flight not changed" in refused.content.decode()
    assert reload(agency, campaign).start_date is None
    saved = signed_in.post(f"{path}flight/", {**form, "csrfmiddlewaretoken": token}, follow=True)
    assert "flight saved" in saved.content.decode()
    assert reload(agency, campaign).pacing == "even"
    spend(agency, campaign, "50")
    page = signed_in.get(path).content.decode()
    assert 'class="chart pace"' in page and "Allowance today" in page
    assert "At this rate:" in page
    overview = signed_in.get("/").content.decode()
    assert "Allowance today" in row_of(overview, campaign)


def test_the_campaign_pages_history_names_who_paused_and_by_how_much_a_budget_was_passed(
    agency: SignedUpAgency, signed_in: Client, add_brand: Callable[..., Brand],
    add_campaign: Callable[..., Campaign],
) -> None:
    campaign = add_campaign(add_brand(), daily_budget=Decimal("10.00"))
    token = csrf_token(signed_in, "/")
    signed_in.post(f"/campaigns/{campaign.pk}/pause/", {"csrfmiddlewaretoken": token,
                                                       "next": "/"})
    now = timezone.now()
    with schema_context(agency.agency.schema_name):
        ledger.record_spend(ledger.SpendEvent(campaign.pk, Decimal("12.5"), now, None), now=now)
    page = signed_in.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert f"by {agency.email}" in page
    assert "2.50 over the campaign daily budget" in page

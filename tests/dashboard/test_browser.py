"""The dashboard in a real browser: headless Debian Chromium, driven by Playwright, against
gunicorn serving the test database.

A person signs in, a spend posted through the API uses up a budget, and without a reload (the
htmx poll) the campaign shows paused with its reason; they press Resume on a campaign they had
paused and see it active. Screenshots go to test-output/ (git-ignored).

The agency is committed (the server is another process, so it cannot see the test's
transaction) and dropped afterwards: its schema CASCADE, then its rows.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as wall_time
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context, schema_exists

from campaigns import clock, ledger, services
from campaigns.models import Campaign
from saas.db import connection
from tenants.models import Agency
from tenants.services import create_agency
from tests.conftest import actor_for_tests

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    # Chromium resolves *.localhost to loopback itself; this makes sure of it.
    "--host-resolver-rules=MAP *.localhost 127.0.0.1",
]
ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "test-output"
DOCS = ROOT / "docs"
SLUG = "browser-test"
EMAIL = "owner@browser-test.example"
PASSWORD = "correct-Horse-battery-9"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Debian's Chromium is not installed at /usr/bin/chromium "
               "(apt-get install chromium; .ci/run does this before make test)",
    ),
]


@dataclass
class LiveAgency:
    token: str
    capped: Campaign  # a daily cap of 50.00, nothing spent
    paused_by_user: Campaign
    flight: Campaign  # ten days, evenly paced, four of them spent, some spend today


@pytest.fixture
def live_agency(django_db_setup: None, django_db_blocker: Any) -> Iterator[LiveAgency]:
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        _drop_agency()  # left over from an interrupted run
        result = create_agency(name="Browser Agency", slug=SLUG, email=EMAIL, password=PASSWORD)
        now = timezone.now()
        with schema_context(result.agency.schema_name):
            edit = {"actor": actor_for_tests(), "now": now}
            brand = services.create_brand(
                {"name": "Maison Lumière", "timezone": "Europe/Paris", "currency": "EUR",
                 "daily_budget": Decimal("500.00")}, **edit)
            capped = services.create_campaign(
                {"brand": brand, "name": "Spring sale", "daily_budget": Decimal("50.00")}, **edit)
            paused = services.create_campaign({"brand": brand, "name": "Evergreen"}, **edit)
            paused = services.set_manual_pause(paused, True, **edit)
            flight = _a_running_flight(brand, edit)
        connection.set_schema_to_public()
        try:
            yield LiveAgency(result.token, capped, paused, flight)
        finally:
            connection.set_schema_to_public()
            _drop_agency()
            assert not schema_exists(SLUG.replace("-", "_"))


def _a_running_flight(brand: Any, edit: dict[str, Any]) -> Campaign:
    """3,000.00 over ten Paris days, evenly paced: the four days before today a little under
    their share (today's allowance: 1,914.50 left over six days, 319.08), and today's spend at
    a rate that uses up its daily cap of 320.00 before midnight."""
    now = edit["now"]
    tz = ZoneInfo(brand.timezone)
    today = clock.local_day(now, tz)
    flight = services.create_campaign(
        {"brand": brand, "name": "Autumn flight", "daily_budget": Decimal("320.00"),
         "start_date": today - timedelta(days=4), "end_date": today + timedelta(days=5),
         "lifetime_budget": Decimal("3000.00"), "pacing": "even"}, **edit)
    for back, amount in ((4, "260.00"), (3, "310.00"), (2, "240.00"), (1, "275.50")):
        noon = datetime.combine(today - timedelta(days=back), wall_time(12), tzinfo=tz)
        ledger.record_spend(ledger.SpendEvent(flight.pk, Decimal(amount), noon, None), now=now)
    begins = clock.local_day_bounds(now, tz)[0]
    ledger.record_spend(ledger.SpendEvent(flight.pk, Decimal("300.00"), begins, None), now=now)
    return flight


def _drop_agency() -> None:
    for agency in Agency.objects.filter(slug=SLUG):
        agency.delete(force_drop=True)  # the schema CASCADE, then the row (domains, tokens)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _test_database_url() -> str:
    """DATABASE_URL with the test database's name: the server must see what the test wrote."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"]))


@pytest.fixture
def server(live_agency: LiveAgency) -> Iterator[str]:
    """gunicorn on a free port; yields the agency's base URL."""
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": _test_database_url(), "DEBUG": "0",
           "DJANGO_SETTINGS_MODULE": "tests.settings", "WEBHOOK_ALLOW_PRIVATE": "1"}
    OUTPUT.mkdir(exist_ok=True)
    log = (OUTPUT / "browser-server.log").open("w")
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "saas.wsgi:application",
         "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "4"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        _wait_for(port, process)
        yield f"http://{SLUG}.localhost:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _wait_for(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited; see {OUTPUT / 'browser-server.log'}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return
        except urllib.error.HTTPError:
            return  # it answers (503 only says Redis or the database is down)
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start within 30 s")


def post_spend(base_url: str, token: str, campaign_id: int, amount: str) -> dict[str, Any]:
    """A spend through the public API, as the agency's ad server would send it."""
    parts = urlsplit(base_url)
    request = urllib.request.Request(
        f"http://127.0.0.1:{parts.port}/api/v1/spend",
        data=json.dumps({"campaign": campaign_id, "amount": amount}).encode(),
        headers={"Host": parts.netloc, "Authorization": f"Bearer {token}",
                 "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201
        body: dict[str, Any] = json.load(response)
    return body


def test_a_person_sees_a_spend_pause_a_campaign_and_resumes_another(
    live_agency: LiveAgency, server: str
) -> None:
    from playwright.sync_api import expect, sync_playwright

    capped, manual = live_agency.capped, live_agency.paused_by_user
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1360, "height": 900})
            page.goto(f"{server}/")  # not signed in: the sign-in page
            expect(page.get_by_role("heading", name="Sign in to Browser Agency")).to_be_visible()
            page.get_by_label("Email").fill(EMAIL)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_role("heading", name="Overview")).to_be_visible()

            capped_row = page.locator(f"#campaign-{capped.pk}")
            expect(capped_row).to_have_attribute("data-status", "active")
            body = post_spend(server, live_agency.token, capped.pk, "50.00")
            assert body["campaign_status"] == {"status": "paused",
                                               "pause_reasons": ["campaign_daily_budget"]}
            # No reload: the page polls its live part every 10 s.
            expect(capped_row).to_have_attribute("data-status", "paused", timeout=20_000)
            expect(capped_row).to_contain_text("Daily budget of the campaign used up")
            expect(capped_row).to_contain_text("Resumes at 00:00 Europe/Paris")
            page.screenshot(path=str(OUTPUT / "dashboard-paused.png"), full_page=True)

            manual_row = page.locator(f"#campaign-{manual.pk}")
            expect(manual_row).to_contain_text("Paused by you")
            manual_row.get_by_role("button", name="Resume Evergreen").click()
            expect(page.get_by_text("“Evergreen” is running again.")).to_be_visible()
            manual_row = page.locator(f"#campaign-{manual.pk}")
            expect(manual_row).to_have_attribute("data-status", "active")
            expect(manual_row).not_to_contain_text("Paused by you")
            page.screenshot(path=str(OUTPUT / "dashboard.png"), full_page=True)

            page.get_by_role("link", name="Spring sale").click()
            expect(page.get_by_role("heading", name="Spring sale")).to_be_visible()
            expect(page.locator("svg.chart rect.bar")).to_have_count(30)
            expect(page.get_by_text("A spend")).to_be_visible()
            page.screenshot(path=str(OUTPUT / "campaign.png"), full_page=True)

            see_a_flights_pace_allowance_and_forecast(page, live_agency.flight)
            add_a_webhook_test_it_and_set_alert_thresholds(page)
        finally:
            browser.close()


def see_a_flights_pace_allowance_and_forecast(page: Any, flight: Campaign) -> None:
    """The overview forecasts the capped campaign and brand; the flight's page draws its pace
    (spend against the expected line, in the band) and names today's allowance. With
    SCREENSHOTS_TO_DOCS=1 its screenshot renews the README's (docs/flight-pace.png)."""
    from playwright.sync_api import expect

    page.get_by_role("link", name="Overview").first.click()
    row = page.locator(f"#campaign-{flight.pk}")
    expect(row).to_contain_text("At this rate: used up around")
    expect(row).to_contain_text("Allowance today")
    expect(page.get_by_label("Brand Maison Lumière")).to_contain_text("At this rate:")
    row.get_by_role("link", name="Autumn flight").click()
    expect(page.get_by_role("heading", name="Autumn flight")).to_be_visible()
    figures = page.get_by_test_id("flight")
    expect(figures).to_contain_text("Allowance today")
    expect(figures).to_contain_text("3,000.00")
    expect(figures).to_contain_text("Spent in the flight")
    pace = page.locator("svg.chart.pace")
    expect(pace.locator("polygon.band")).to_have_count(1)
    expect(pace.locator("polyline.expected")).to_have_count(1)
    expect(pace.locator("polyline.spent")).to_have_count(1)
    expect(pace.locator("circle.now")).to_have_count(1)
    expect(page.get_by_test_id("campaign-forecast")).to_contain_text(
        "At this rate: used up around")
    page.screenshot(path=str(OUTPUT / "flight-pace.png"), full_page=True)
    if os.environ.get("SCREENSHOTS_TO_DOCS"):  # the README's picture, renewed on purpose only
        page.screenshot(path=str(DOCS / "flight-pace.png"), full_page=True)


def add_a_webhook_test_it_and_set_alert_thresholds(page: Any) -> None:
    """The Webhooks page: add an endpoint (its secret is shown once), send it a test (an event
    among the recent ones), rotate its secret, and alert the brand at 50, 90 and 100 %."""
    from playwright.sync_api import expect

    page.get_by_role("link", name="Webhooks").click()
    expect(page.get_by_role("heading", name="Webhooks", exact=True)).to_be_visible()
    page.get_by_label("URL").fill("http://127.0.0.1:9/hooks")
    page.get_by_label("Description").fill("ERP")
    page.get_by_role("button", name="Add endpoint").click()
    secret = page.get_by_test_id("secret")
    expect(secret).to_contain_text("whsec_")
    first_secret = secret.inner_text()
    endpoint = page.locator("article.endpoint")
    expect(endpoint).to_contain_text("http://127.0.0.1:9/hooks")
    expect(endpoint).to_have_attribute("data-state", "healthy")

    endpoint.get_by_role("button", name="Send a test to http://127.0.0.1:9/hooks").click()
    expect(page.get_by_text("sent to http://127.0.0.1:9/hooks")).to_be_visible()
    expect(page.locator("table.events")).to_contain_text("webhook.test")
    page.locator("article.endpoint").get_by_role("button", name="Rotate the secret").click()
    expect(page.get_by_test_id("secret")).to_contain_text("whsec_")
    assert page.get_by_test_id("secret").inner_text() != first_secret

    page.get_by_label("Alert thresholds of Maison Lumière").fill("50, 90, 100")
    page.get_by_role("button", name="Save the thresholds of Maison Lumière").click()
    expect(page.get_by_text("Maison Lumière alerts at 50 %, 90 %, 100 % of each budget.")
           ).to_be_visible()
    page.screenshot(path=str(OUTPUT / "webhooks.png"), full_page=True)

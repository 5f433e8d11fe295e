"""The Webhooks page as a signed-in person uses it, without a browser: endpoints with their last
deliveries, add / test / rotate / disable / delete, brand alert thresholds, recent events."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from campaigns.models import Brand
from notifications import services
from notifications.delivery import deliver_endpoint
from notifications.models import Event, WebhookEndpoint
from saas.db import connection
from tests.conftest import SignedUpAgency
from tests.dashboard.conftest import csrf_token
from tests.notifications.conftest import ACTOR, LocalServer, answer_with, local_server  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _private_addresses_allowed(settings: Any) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = True


def submit(client: Client, path: str, data: dict[str, Any] | None = None) -> Any:
    return client.post(path, {**(data or {}), "csrfmiddlewaretoken": csrf_token(client,
                                                                              "/webhooks/")})


def add_endpoint(url: str = "http://127.0.0.1:9/") -> WebhookEndpoint:
    return services.create_endpoint(url=url, actor=ACTOR, now=datetime.now(UTC)).endpoint


def endpoints(agency: SignedUpAgency) -> list[WebhookEndpoint]:
    with schema_context(agency.agency.schema_name):
        return list(WebhookEndpoint.objects.order_by("id"))


def test_the_page_needs_sign_in(agency_client: Client) -> None:
    response = agency_client.get("/webhooks/")
    assert response.status_code == 302 and response["Location"] == "/login/?next=/webhooks/"
    assert agency_client.post("/webhooks/add/", {"url": "http://127.0.0.1:9/"}).status_code == 302


def test_adding_an_endpoint_shows_its_secret_once(signed_in: Client,
                                                  agency: SignedUpAgency) -> None:
    response = submit(signed_in, "/webhooks/add/", {
        "url": "http://127.0.0.1:9000/hooks", "description": "ERP",
        "event_types": ["campaign.paused", "campaign.resumed"]})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    secret = re.search(r'data-testid="secret">(whsec_[^<]+)<', page)
    assert secret, page
    (endpoint,) = endpoints(agency)
    assert endpoint.url == "http://127.0.0.1:9000/hooks" and endpoint.description == "ERP"
    assert endpoint.event_types == ["campaign.paused", "campaign.resumed"]
    again = signed_in.get("/webhooks/").content.decode()
    assert "http://127.0.0.1:9000/hooks" in again and secret.group(1) not in again


def test_a_refused_url_is_shown_with_the_reason(signed_in: Client, settings: Any,
                                                agency: SignedUpAgency) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = False
    response = submit(signed_in, "/webhooks/add/", {"url": "https://127.0.0.1/x",
                                                    "event_types": ["webhook.test"]})
    assert response.status_code == 400
    assert "is a loopback address" in response.content.decode()
    assert endpoints(agency) == []


def test_the_page_lists_each_endpoint_with_its_last_attempts(
    signed_in: Client, agency: SignedUpAgency, local_server: LocalServer,  # noqa: F811
) -> None:
    with schema_context(agency.agency.schema_name):
        endpoint = add_endpoint(local_server.url())
        local_server.answer = answer_with(503)
        services.send_test(endpoint, now=datetime.now(UTC))
        now = datetime.now(UTC)
        deliver_endpoint(endpoint.pk, clock=lambda: now, rng=random.Random(3))
    page = signed_in.get("/webhooks/").content.decode()
    panel = re.search(rf'<article[^>]*id="webhook-{endpoint.pk}".*?</article>', page, re.S)
    assert panel, page
    assert 'data-state="failing"' in panel.group(0)
    assert "HTTP 503 Service Unavailable" in panel.group(0) and " ms</td>" in panel.group(0)
    assert "webhook.test" in page  # among the recent events


def test_send_test_rotate_disable_enable_delete(signed_in: Client, agency: SignedUpAgency) -> None:
    with schema_context(agency.agency.schema_name):
        endpoint = add_endpoint()
    base = f"/webhooks/{endpoint.pk}"
    response = submit(signed_in, f"{base}/test/")
    assert response.status_code == 302
    with schema_context(agency.agency.schema_name):
        assert Event.objects.get().type == "webhook.test"
    rotated = submit(signed_in, f"{base}/rotate/")
    assert rotated.status_code == 200 and b'data-testid="secret">whsec_' in rotated.content
    submit(signed_in, f"{base}/disable/")
    (stored,) = endpoints(agency)
    assert not stored.enabled
    assert "Disabled: disabled by a user" in signed_in.get("/webhooks/").content.decode()
    submit(signed_in, f"{base}/enable/")
    assert endpoints(agency)[0].enabled
    submit(signed_in, f"{base}/delete/")
    assert endpoints(agency) == []
    assert submit(signed_in, f"{base}/explode/").status_code == 404


def test_another_agencys_endpoint_is_not_found(signed_in: Client, make_agency: Any) -> None:
    other = make_agency("globex")
    with schema_context(other.agency.schema_name):
        theirs = add_endpoint()
    assert submit(signed_in, f"/webhooks/{theirs.pk}/delete/").status_code == 404
    with schema_context(other.agency.schema_name):
        assert WebhookEndpoint.objects.filter(pk=theirs.pk).exists()


def test_a_brands_alert_thresholds_are_edited_on_the_page(
    signed_in: Client, agency: SignedUpAgency, add_brand: Callable[..., Brand]
) -> None:
    brand = add_brand("Maison")
    page = signed_in.get("/webhooks/").content.decode()
    assert 'value="80, 100"' in page
    response = submit(signed_in, f"/brands/{brand.pk}/thresholds/", {"thresholds": "50, 90%, 100"})
    assert response.status_code == 302
    with schema_context(agency.agency.schema_name):
        assert Brand.objects.get(pk=brand.pk).alert_thresholds == [50, 90, 100]
    refused = submit(signed_in, f"/brands/{brand.pk}/thresholds/", {"thresholds": "90, 50"})
    assert refused.status_code == 302
    follow = signed_in.get("/webhooks/").content.decode()
    assert "thresholds not changed" in follow and "increasing order" in follow
    with schema_context(agency.agency.schema_name):
        assert Brand.objects.get(pk=brand.pk).alert_thresholds == [50, 90, 100]


def test_the_page_costs_the_same_queries_for_one_endpoint_or_ten(
    signed_in: Client, agency: SignedUpAgency
) -> None:
    counts = []
    for total in (1, 10):
        with schema_context(agency.agency.schema_name):
            while WebhookEndpoint.objects.count() < total:
                endpoint = services.create_endpoint(url="http://127.0.0.1:9/",
                                                    actor=ACTOR, now=datetime.now(UTC)).endpoint
                services.send_test(endpoint, now=datetime.now(UTC))
        with CaptureQueriesContext(connection) as captured:
            assert signed_in.get("/webhooks/").status_code == 200
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1]

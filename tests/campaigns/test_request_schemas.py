"""The OpenAPI schema says what spend and the PATCH of brands and campaigns enforce: every body
built from what it documents (the patterns, enums, limits and the ranges its descriptions
state) is accepted, and the answer is what the schema documents for it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaigns import clock
from campaigns.api.fields import EARLIEST_INSTANT, MONEY_PATTERN
from campaigns.api.schema import AMOUNT_TEXT
from campaigns.currencies import CURRENCY_CODES
from tests.conftest import Api
from tests.openapi import assert_documented

pytestmark = pytest.mark.django_db
EXAMPLES = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])
text = st.characters(codec="utf-8", exclude_characters="\x00")
names = st.text(text, min_size=1, max_size=200).filter(str.strip)
money = st.none() | st.from_regex(MONEY_PATTERN, fullmatch=True)
amount_numbers = st.decimals(Decimal("0.000001"), Decimal("999999999999"), places=6).map(float)
amounts = st.from_regex(AMOUNT_TEXT, fullmatch=True) | amount_numbers.filter(lambda n: n > 0)
offsets = st.integers(-14 * 60, 14 * 60).map(lambda minutes: timedelta(minutes=minutes))


def schema(client: Client) -> dict[str, Any]:
    return dict(client.get("/api/v1/schema/", {"format": "json"}).json())


@st.composite
def instants(draw: st.DrawFn) -> str:
    """RFC 3339 from 1900 to 5 minutes ahead (a minute's margin for the test's own time)."""
    latest = datetime.now(UTC) + timedelta(minutes=4)
    instant = draw(st.datetimes(EARLIEST_INSTANT.replace(tzinfo=None) + timedelta(days=1),
                                latest.replace(tzinfo=None))).replace(tzinfo=UTC)
    return instant.astimezone(timezone(draw(offsets))).isoformat()


spend_bodies = st.fixed_dictionaries(
    {"amount": amounts},
    # An event_id is unique per agency (a used one with another body is a 409, as documented),
    # and the examples share one agency: the test ends each with 32 random hex digits.
    optional={"occurred_at": instants(), "event_id": st.text(text, max_size=168)},
)


@EXAMPLES
@given(body=spend_bodies)
def test_every_spend_the_schema_documents_is_accepted(api: Api, public_client: Client,
                                                      body: dict[str, Any]) -> None:
    campaign = api.campaign(api.brand())
    if "event_id" in body:
        body = {**body, "event_id": body["event_id"] + uuid.uuid4().hex}
    response = api.post("spend", {"campaign": campaign["id"], **body})
    answer = api.ok(response, 201)
    assert_documented(schema(public_client), "/api/v1/spend", "post", 201, answer)


brand_bodies = st.fixed_dictionaries({
    "name": names,
    "timezone": st.sampled_from(sorted(clock.known_zones())),
    "currency": st.sampled_from(sorted(CURRENCY_CODES)),
    "daily_budget": money,
    "monthly_budget": money,
    "alert_thresholds": st.lists(st.integers(1, 100), max_size=10, unique=True),
})


def test_put_on_a_brand_or_a_campaign_is_not_offered(api: Api, public_client: Client) -> None:
    """The contract edits them with PATCH; PUT is a 405, and the schema does not document it."""
    paths = schema(public_client)["paths"]
    for path in ("/api/v1/brands/{id}", "/api/v1/campaigns/{id}"):
        assert "put" not in paths[path] and "patch" in paths[path]
    assert "put" in paths["/api/v1/campaigns/{id}/schedule"]
    brand = api.brand()
    assert api.put(f"brands/{brand['id']}", {"name": "B", "timezone": "UTC"}).status_code == 405


@EXAMPLES
@given(body=brand_bodies)
def test_every_brand_the_schema_documents_is_accepted_by_patch(
    api: Api, public_client: Client, body: dict[str, Any]
) -> None:
    brand = api.brand()
    answer = api.ok(api.patch(f"brands/{brand['id']}", body))
    assert (answer["name"], answer["timezone"]) == (body["name"].strip(), body["timezone"])
    assert answer["alert_thresholds"] == sorted(body["alert_thresholds"])
    assert_documented(schema(public_client), "/api/v1/brands/{id}", "patch", 200, answer)


@EXAMPLES
@given(body=st.fixed_dictionaries({
    "name": names, "daily_budget": money, "monthly_budget": money, "dayparting": st.booleans(),
}))
def test_every_campaign_the_schema_documents_is_accepted_by_patch(
    api: Api, public_client: Client, body: dict[str, Any]
) -> None:
    brand = api.brand()
    campaign = api.campaign(brand)
    answer = api.ok(api.patch(f"campaigns/{campaign['id']}", {"brand": brand["id"], **body}))
    assert answer["name"] == body["name"].strip()
    assert_documented(schema(public_client), "/api/v1/campaigns/{id}", "patch", 200, answer)

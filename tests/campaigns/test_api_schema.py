"""The OpenAPI schema says what the brand endpoints enforce: whatever it documents as valid is
accepted (a generated client can rely on it), and what it leaves out is what is refused."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaigns import clock
from campaigns.api.fields import MONEY_PATTERN
from campaigns.currencies import CURRENCY_CODES
from tests.conftest import Api
from tests.openapi import assert_documented

pytestmark = pytest.mark.django_db


def brand_schema(public_client: Client) -> dict[str, Any]:
    schema = public_client.get("/api/v1/schema/", {"format": "json"}).json()
    components = schema["components"]["schemas"]
    properties = dict(components["Brand"]["properties"])
    for name in ("timezone", "currency"):  # enums are components of their own
        reference = properties[name]["allOf"][0]["$ref"].rsplit("/", 1)[1]
        properties[name] = components[reference]
    return properties


def test_the_brand_schema_lists_the_zones_currencies_and_amounts_it_accepts(
    public_client: Client,
) -> None:
    fields = brand_schema(public_client)
    assert fields["timezone"]["enum"] == sorted(clock.known_zones())
    assert "localtime" not in fields["timezone"]["enum"]
    assert "Factory" not in fields["timezone"]["enum"]
    assert fields["currency"]["enum"] == sorted(CURRENCY_CODES)
    assert fields["daily_budget"]["pattern"] == MONEY_PATTERN
    assert fields["daily_budget"]["nullable"] is True
    assert fields["alert_thresholds"]["items"] == {"type": "integer", "minimum": 1,
                                                   "maximum": 100}
    assert fields["alert_thresholds"]["maxItems"] == 10


ZONES = sorted(clock.known_zones())
money = st.none() | st.from_regex(MONEY_PATTERN, fullmatch=True)
documented_brands = st.fixed_dictionaries({
    "name": st.text(st.characters(codec="utf-8", exclude_characters="\x00"),
                    min_size=1, max_size=200).filter(str.strip),
    "timezone": st.sampled_from(ZONES),
    "currency": st.sampled_from(sorted(CURRENCY_CODES)),
    "daily_budget": money,
    "monthly_budget": money,
    "alert_thresholds": st.lists(st.integers(1, 100), unique=True, max_size=10),
})


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=documented_brands)
def test_every_brand_the_schema_documents_is_accepted(api: Api, body: dict[str, Any]) -> None:
    created = api.ok(api.post("brands", body), 201)
    assert created["alert_thresholds"] == sorted(body["alert_thresholds"])
    assert created["timezone"] == body["timezone"]


def test_thresholds_in_any_order_are_stored_in_increasing_order(api: Api) -> None:
    brand = api.brand(alert_thresholds=[100, 50, 80])
    assert brand["alert_thresholds"] == [50, 80, 100]
    refused = api.post("brands", {"name": "B", "timezone": "UTC", "alert_thresholds": [80, 80]})
    assert refused.status_code == 400
    assert "alert_thresholds" in refused.json()["fields"]


def test_a_brands_status_is_what_the_schema_documents(api: Api, public_client: Client) -> None:
    brand = api.brand(daily_budget="50.00")
    api.spend(api.campaign(brand), "12.50")
    schema = public_client.get("/api/v1/schema/", {"format": "json"}).json()
    for at in (None, "2026-03-29T01:30:00+01:00"):
        body = api.ok(api.get(f"brands/{brand['id']}/status", **({"at": at} if at else {})))
        assert_documented(schema, "/api/v1/brands/{id}/status", "get", 200, body)

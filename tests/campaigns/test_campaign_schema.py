"""The OpenAPI schema says what the campaign and token endpoints enforce: every body built from
what it documents (field by field, with the flight rules its descriptions state) is accepted."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaigns.api.fields import MONEY_PATTERN
from campaigns.models import EARLIEST_FLIGHT_DAY, LATEST_FLIGHT_DAY, MAX_FLIGHT_DAYS
from tests.conftest import Api

pytestmark = pytest.mark.django_db
EXAMPLES = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


def components(public_client: Client) -> dict[str, Any]:
    schema = public_client.get("/api/v1/schema/", {"format": "json"}).json()
    return dict(schema["components"]["schemas"])


def test_the_schema_states_the_flight_limits_and_the_scopes(public_client: Client) -> None:
    schemas = components(public_client)
    campaign = schemas["Campaign"]["properties"]
    assert str(EARLIEST_FLIGHT_DAY) in campaign["start_date"]["description"]
    assert str(LATEST_FLIGHT_DAY) in campaign["start_date"]["description"]
    assert str(MAX_FLIGHT_DAYS) in campaign["end_date"]["description"]
    assert campaign["daily_budget"]["pattern"] == MONEY_PATTERN
    assert campaign["name"]["maxLength"] == 200
    scopes = schemas["TokenCreate"]["properties"]["scopes"]
    assert scopes["minItems"] == 1
    assert schemas["ScopesEnum"]["enum"] == ["read", "write", "spend:write"]


text = st.characters(codec="utf-8", exclude_characters="\x00")
money = st.none() | st.from_regex(MONEY_PATTERN, fullmatch=True)
days = st.dates(EARLIEST_FLIGHT_DAY, LATEST_FLIGHT_DAY - timedelta(days=MAX_FLIGHT_DAYS))


@st.composite
def flights(draw: st.DrawFn) -> dict[str, Any]:
    """No flight, or dates within the documented range and length; even pacing with both
    dates and a lifetime budget, as its description says."""
    if not draw(st.booleans()):
        return {"lifetime_budget": draw(money)}
    start: date = draw(days)
    end = start + timedelta(days=draw(st.integers(0, MAX_FLIGHT_DAYS - 1)))
    lifetime = draw(money)
    pacing = draw(st.sampled_from(["asap", "even"])) if lifetime is not None else "asap"
    return {"start_date": start.isoformat(), "end_date": end.isoformat(),
            "lifetime_budget": lifetime, "pacing": pacing}


documented_campaigns = st.fixed_dictionaries({
    "name": st.text(text, min_size=1, max_size=200).filter(str.strip),
    "daily_budget": money,
    "monthly_budget": money,
    "dayparting": st.booleans(),
}).flatmap(lambda fields: flights().map(lambda flight: {**fields, **flight}))


@EXAMPLES
@given(body=documented_campaigns)
def test_every_campaign_the_schema_documents_is_accepted(api: Api, body: dict[str, Any]) -> None:
    brand = api.brand()
    created = api.ok(api.post("campaigns", {"brand": brand["id"], **body}), 201)
    assert created["name"] == body["name"].strip()
    assert created.get("start_date") == body.get("start_date")


@EXAMPLES
@given(body=st.fixed_dictionaries({
    "name": st.text(text, min_size=1, max_size=100).filter(str.strip),
    "scopes": st.lists(st.sampled_from(["read", "write", "spend:write"]), min_size=1,
                       max_size=6),
}))
def test_every_token_the_schema_documents_is_accepted(api: Api, body: dict[str, Any]) -> None:
    created = api.ok(api.post("tokens", body), 201)
    assert set(created["scopes"]) == set(body["scopes"])

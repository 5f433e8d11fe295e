"""Bad spend input, single and batch: 400 naming the field, nothing stored, campaign unchanged."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django_tenants.utils import schema_context

from campaigns.models import Spend, SpendTotal
from tests.conftest import Api

pytestmark = pytest.mark.django_db

# JSON text of the amount: strings, numbers and the bare tokens JSON itself does not allow.
BAD_AMOUNTS = [
    "0", '"0"', '"0.00"', "-1", '"-1"', '"-0.01"', '"NaN"', '"Infinity"', '"-Infinity"',
    "NaN", "Infinity", "-Infinity", '"1.0000001"', "1.0000001", '""', '"  "', "null", "[]",
    '["1"]', "{}", '{"value": "1"}', "true", "false", '"1,5"', '"1e400"', '"abc"',
    '"1_000"', '"\u0663"', '"sNaN"', '"-nan"', '"0x10"', '"1e999999"', "1e999999",
]
BAD_INSTANTS = [
    '"2026-03-01T12:00:00"', '"2026-02-30T10:00:00Z"', '"2026-13-01T00:00:00Z"',
    '"2026-03-01T25:00:00Z"', '"yesterday"', '""', "12345", "[]", "{}", "true",
    '"2026-01-01T00:00:00+25:00"', '"0001-01-01T00:00:00+01:00"', '"1899-12-31T23:59:59Z"',
]
BAD_CAMPAIGNS = ['"abc"', "true", "1.5", "-1", "0", "987654", "[]", "{}", '""', "null",
                 '"\u00b2"', '"\u0663"', '"99999999999999999999"', "99999999999999999999"]


@pytest.fixture
def campaign(api: Api) -> dict[str, Any]:
    return api.campaign(api.brand(daily_budget="10.00"), daily_budget="5.00")


def post_raw(api: Api, path: str, body: str | bytes,
             content_type: str = "application/json") -> Any:
    return api.client.post(f"/api/v1/{path}", body, content_type=content_type,
                           HTTP_AUTHORIZATION=f"Bearer {api.token}")


def event_text(campaign: dict[str, Any], /, **raw_fields: str) -> str:
    """One event as JSON text, with each of `raw_fields` given as raw JSON ("<missing>": left
    out)."""
    fields = {"campaign": str(campaign["id"]), "amount": '"1.00"', **raw_fields}
    return "{" + ", ".join(f'"{k}": {v}' for k, v in fields.items() if v != "<missing>") + "}"


Send = Callable[[Api, str], Any]


def send_single(api: Api, event: str) -> Any:
    return post_raw(api, "spend", event)


def send_in_batch(api: Api, event: str) -> Any:
    """The bad event at index 1, after a valid one that must not be stored either."""
    campaign_id = api.ok(api.get("campaigns"))["results"][0]["id"]
    valid = f'{{"campaign": {campaign_id}, "amount": "1"}}'
    return post_raw(api, "spend/batch", '{"events": [' + valid + ", " + event + "]}")


def field_errors(response: Any, *, batch: bool) -> dict[str, Any]:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"] == "validation_error" and body["message"]
    if not batch:
        return body["fields"]
    events = body["fields"]["events"]
    assert list(events) == ["1"], events
    return events["1"]


def assert_nothing_changed(api: Api, campaign: dict[str, Any]) -> None:
    with schema_context(api.agency.schema_name):
        assert Spend.objects.count() == 0
        assert SpendTotal.objects.count() == 0
    now = api.ok(api.get(f"campaigns/{campaign['id']}"))
    assert (now["status"], now["pause_reasons"]) == ("active", [])
    assert api.ok(api.get(f"campaigns/{campaign['id']}/history"))["count"] == 0


@pytest.fixture(params=[send_single, send_in_batch], ids=["single", "batch"])
def send(request: pytest.FixtureRequest) -> Send:
    return request.param  # type: ignore[no-any-return]


@pytest.mark.parametrize("amount", BAD_AMOUNTS)
def test_bad_amounts_are_400_naming_amount(api: Api, campaign: dict[str, Any], send: Send,
                                           amount: str) -> None:
    response = send(api, event_text(campaign, amount=amount))
    assert "amount" in field_errors(response, batch=send is send_in_batch)
    assert_nothing_changed(api, campaign)


def test_a_missing_amount_is_400(api: Api, campaign: dict[str, Any], send: Send) -> None:
    response = send(api, event_text(campaign, amount="<missing>"))
    assert "amount" in field_errors(response, batch=send is send_in_batch)
    assert_nothing_changed(api, campaign)


@pytest.mark.parametrize("occurred_at", BAD_INSTANTS)
def test_bad_instants_are_400_naming_occurred_at(api: Api, campaign: dict[str, Any], send: Send,
                                                 occurred_at: str) -> None:
    response = send(api, event_text(campaign, occurred_at=occurred_at))
    assert "occurred_at" in field_errors(response, batch=send is send_in_batch)
    assert_nothing_changed(api, campaign)


def test_an_instant_more_than_5_minutes_ahead_is_400(api: Api, campaign: dict[str, Any],
                                                     send: Send) -> None:
    ahead = (datetime.now(UTC) + timedelta(minutes=6)).isoformat()
    response = send(api, event_text(campaign, occurred_at=json.dumps(ahead)))
    errors = field_errors(response, batch=send is send_in_batch)
    assert "5 minutes" in errors["occurred_at"][0]
    assert_nothing_changed(api, campaign)


def test_an_offset_postgresql_cannot_store_is_still_recorded(api: Api,
                                                             campaign: dict[str, Any]) -> None:
    # RFC 3339 and Python allow offsets up to 23:59, PostgreSQL only to 15:59:59 (was a 500).
    occurred_at = "2026-01-01T23:00:00.5+23:59"
    body = api.spend(campaign, "1.00", occurred_at=occurred_at)
    assert datetime.fromisoformat(body["occurred_at"]) == datetime(
        2025, 12, 31, 23, 1, 0, 500_000, tzinfo=UTC)


@pytest.mark.parametrize("campaign_id", BAD_CAMPAIGNS)
def test_bad_or_unknown_campaigns_are_400_naming_campaign(
    api: Api, campaign: dict[str, Any], send: Send, campaign_id: str
) -> None:
    response = send(api, event_text(campaign, campaign=campaign_id))
    assert "campaign" in field_errors(response, batch=send is send_in_batch)
    assert_nothing_changed(api, campaign)


def test_a_missing_campaign_is_400(api: Api, campaign: dict[str, Any], send: Send) -> None:
    response = send(api, event_text(campaign, campaign="<missing>"))
    assert "campaign" in field_errors(response, batch=send is send_in_batch)
    assert_nothing_changed(api, campaign)


# NUL and a lone surrogate: JSON allows both, PostgreSQL text refuses them (was a 500).
@pytest.mark.parametrize("event_id", ['""', "12", "[]", '"' + "x" * 201 + '"',
                                      r'"etl\u0000-1"', r'"etl-\ud800"'])
def test_bad_event_ids_are_400(api: Api, campaign: dict[str, Any], send: Send,
                               event_id: str) -> None:
    response = send(api, event_text(campaign, event_id=event_id))
    assert "event_id" in field_errors(response, batch=send is send_in_batch)
    assert_nothing_changed(api, campaign)


def test_every_invalid_event_of_a_batch_is_reported_by_index(
    api: Api, campaign: dict[str, Any]
) -> None:
    events = [{"campaign": campaign["id"], "amount": "1"}] * 5
    events[1] = {"campaign": campaign["id"], "amount": "-1"}
    events[3] = {"amount": "1", "occurred_at": "2026-03-01T12:00:00"}
    response = api.post("spend/batch", {"events": events})
    assert response.status_code == 400, response.content
    errors = response.json()["fields"]["events"]
    assert sorted(errors) == ["1", "3"]
    assert list(errors["1"]) == ["amount"]
    assert sorted(errors["3"]) == ["campaign", "occurred_at"]
    assert "events: 1: amount:" in response.json()["message"]
    assert_nothing_changed(api, campaign)


@pytest.mark.parametrize("path", ["spend", "spend/batch"])
@pytest.mark.parametrize("body", [
    b'{"campaign": 1, "amount": ', b"not json", b'\xff\xfe{"amount": "1"}',
    '{"campaign": 1, "amount": "1", "event_id": "caf\u00e9"}'.encode("latin-1"),
])
def test_a_body_that_is_not_utf8_json_is_400(api: Api, campaign: dict[str, Any], path: str,
                                             body: bytes) -> None:
    response = post_raw(api, path, body)
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "parse_error"
    assert response.json()["message"]
    assert_nothing_changed(api, campaign)


@pytest.mark.parametrize("body", ["", "[]", '[{"campaign": 1, "amount": "1"}]', '"spend"', "1",
                                  "null"])
def test_a_body_that_is_not_an_object_is_400(api: Api, campaign: dict[str, Any],
                                             body: str) -> None:
    for path in ("spend", "spend/batch"):
        response = post_raw(api, path, body)
        assert response.status_code == 400, response.content
        assert response.json()["fields"], response.content
    assert_nothing_changed(api, campaign)


@pytest.mark.parametrize("events", ['"all"', "{}", "null", "12"])
def test_events_must_be_a_list(api: Api, campaign: dict[str, Any], events: str) -> None:
    response = post_raw(api, "spend/batch", '{"events": ' + events + "}")
    assert "events" in field_errors(response, batch=False)
    assert "events" in field_errors(post_raw(api, "spend/batch", "{}"), batch=False)
    assert_nothing_changed(api, campaign)


def test_a_batch_event_that_is_not_an_object_is_400_at_its_index(
    api: Api, campaign: dict[str, Any]
) -> None:
    body = {"events": [{"campaign": campaign["id"], "amount": "1"}, ["1"]]}
    response = api.post("spend/batch", body)
    assert "non_field_errors" in field_errors(response, batch=True)
    assert_nothing_changed(api, campaign)

"""`/api/v1/webhooks` and `/api/v1/events` as the contract describes them."""

from __future__ import annotations

import base64
import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from notifications.delivery import deliver_endpoint
from notifications.models import EVENT_TYPES, Delivery, Event, WebhookEndpoint
from tests.conftest import SignedUpAgency
from tests.notifications.conftest import FakeResolver, LocalServer, answer_with

HOOK = "http://127.0.0.1:9000/hooks"


def post(client: Client, path: str, body: Any = None) -> Any:
    return client.post(f"/api/v1/{path}", json.dumps(body or {}), content_type="application/json")


def patch(client: Client, path: str, body: Any) -> Any:
    return client.patch(f"/api/v1/{path}", json.dumps(body), content_type="application/json")


def created(client: Client, **fields: Any) -> dict[str, Any]:
    response = post(client, "webhooks", {"url": HOOK, **fields})
    assert response.status_code == 201, response.content
    return dict(response.json())


def refused_field(response: Any) -> list[str]:
    assert response.status_code == 400, response.content
    return list(response.json()["fields"])


@pytest.fixture(autouse=True)
def _private_addresses_allowed(settings: Any) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = True


def test_creating_a_webhook_shows_its_secret_once(api_client: Client) -> None:
    body = created(api_client, description="ERP")
    assert set(body) == {"id", "url", "event_types", "description", "enabled", "created_at",
                         "secret"}
    assert body["url"] == HOOK and body["enabled"] is True and body["description"] == "ERP"
    assert body["event_types"] == list(EVENT_TYPES)  # all types by default
    assert body["secret"].startswith("whsec_")
    assert len(base64.b64decode(body["secret"].removeprefix("whsec_"))) >= 24
    shown = api_client.get(f"/api/v1/webhooks/{body['id']}").json()
    assert "secret" not in shown and shown["id"] == body["id"]
    listed = api_client.get("/api/v1/webhooks").json()
    assert listed["count"] == 1 and "secret" not in listed["results"][0]


def test_a_webhook_subscribes_to_the_types_it_names(api_client: Client) -> None:
    body = created(api_client, event_types=["campaign.resumed", "campaign.paused"])
    assert body["event_types"] == ["campaign.paused", "campaign.resumed"]


@pytest.mark.parametrize("body, field", [
    ({"url": "ftp://127.0.0.1/x"}, "url"),
    ({"url": "not a url"}, "url"),
    ({"url": "http://user:pw@127.0.0.1/x"}, "url"),
    ({}, "url"),
    ({"url": HOOK, "event_types": ["campaign.deleted"]}, "event_types"),
    ({"url": HOOK, "event_types": []}, "event_types"),
    ({"url": HOOK, "event_types": "campaign.paused"}, "event_types"),
    ({"url": HOOK, "enabled": "perhaps"}, "enabled"),
])
def test_bad_input_is_a_400_naming_the_field(api_client: Client, body: dict[str, Any],
                                              field: str) -> None:
    assert refused_field(post(api_client, "webhooks", body)) == [field]


def test_without_the_development_flag_only_public_https_urls_are_accepted(
    api_client: Client, settings: Any, resolver: FakeResolver
) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = False
    resolver.answers = {"hooks.example": ["93.184.216.34"], "inside.example": ["10.0.0.7"]}
    assert post(api_client, "webhooks", {"url": "https://hooks.example/in"}).status_code == 201
    for url in ("http://hooks.example/in", "https://inside.example/in",
                "https://127.0.0.1/in", "https://[::1]/in", "https://169.254.169.254/"):
        response = post(api_client, "webhooks", {"url": url})
        assert refused_field(response) == ["url"], url
    message = post(api_client, "webhooks", {"url": "https://inside.example/in"}).json()
    assert "does not resolve to a public address" in message["fields"]["url"][0]


def test_a_patch_changes_what_it_names(api_client: Client) -> None:
    hook = created(api_client)
    response = patch(api_client, f"webhooks/{hook['id']}",
                     {"url": "http://127.0.0.1:9001/new", "event_types": ["webhook.test"],
                      "description": "new", "enabled": False})
    assert response.status_code == 200, response.content
    assert {k: response.json()[k] for k in ("url", "event_types", "description", "enabled")} == {
        "url": "http://127.0.0.1:9001/new", "event_types": ["webhook.test"],
        "description": "new", "enabled": False}
    assert refused_field(patch(api_client, f"webhooks/{hook['id']}", {"url": "gopher://x"})
                         ) == ["url"]
    put = api_client.put(f"/api/v1/webhooks/{hook['id']}", "{}", content_type="application/json")
    assert put.status_code == 405


def test_a_deleted_webhook_is_gone(api_client: Client) -> None:
    hook = created(api_client)
    assert api_client.delete(f"/api/v1/webhooks/{hook['id']}").status_code == 204
    assert api_client.get(f"/api/v1/webhooks/{hook['id']}").status_code == 404


def test_an_agency_has_at_most_its_share_of_endpoints(api_client: Client,
                                                      settings: Any) -> None:
    settings.WEBHOOK_MAX_ENDPOINTS = 2
    first, _ = created(api_client), created(api_client)
    refused = post(api_client, "webhooks", {"url": HOOK})
    assert refused.status_code == 409
    assert "at most 2 webhook endpoints" in refused.json()["message"]
    assert api_client.get("/api/v1/webhooks").json()["count"] == 2
    assert api_client.delete(f"/api/v1/webhooks/{first['id']}").status_code == 204
    created(api_client)


def test_rotating_gives_a_new_secret(api_client: Client) -> None:
    hook = created(api_client)
    response = post(api_client, f"webhooks/{hook['id']}/rotate-secret")
    assert response.status_code == 200
    assert set(response.json()) == {"secret"}
    assert response.json()["secret"].startswith("whsec_")
    assert response.json()["secret"] != hook["secret"]


def test_a_test_is_an_event_for_that_endpoint_only(api_client: Client,
                                                   agency: SignedUpAgency) -> None:
    hook = created(api_client)
    other = created(api_client)
    response = post(api_client, f"webhooks/{hook['id']}/test")
    assert response.status_code == 202, response.content
    event = response.json()["event"]
    assert event["type"] == "webhook.test" and event["data"] == {"webhook": hook["id"]}
    assert api_client.get(f"/api/v1/events/{event['id']}").json() == event
    with schema_context(agency.agency.schema_name):
        assert list(Delivery.objects.values_list("endpoint_id", flat=True)) == [hook["id"]]
    assert other["id"] != hook["id"]


def test_a_disabled_webhook_cannot_be_tested_or_recovered(api_client: Client) -> None:
    hook = created(api_client, enabled=False)
    assert post(api_client, f"webhooks/{hook['id']}/test").status_code == 409
    since = {"since": "2026-03-01T00:00:00Z"}
    assert post(api_client, f"webhooks/{hook['id']}/recover", since).status_code == 409


def test_the_deliveries_log_lists_attempts_newest_first(
    api_client: Client, agency: SignedUpAgency, local_server: LocalServer
) -> None:
    response = post(api_client, "webhooks", {"url": local_server.url()})
    hook = response.json()
    local_server.answer = answer_with(503)
    first = post(api_client, f"webhooks/{hook['id']}/test").json()["event"]
    now = datetime.now(UTC)
    with schema_context(agency.agency.schema_name):
        deliver_endpoint(hook["id"], clock=lambda: now, rng=random.Random(1))
        local_server.answer = answer_with(204)
        later = now + timedelta(seconds=6)
        deliver_endpoint(hook["id"], clock=lambda: later, rng=random.Random(1))
    log = api_client.get(f"/api/v1/webhooks/{hook['id']}/deliveries").json()
    assert log["count"] == 2
    newest, oldest = log["results"]
    assert set(newest) == {"event", "attempt", "at", "status_code", "duration_ms", "error",
                           "next_attempt_at"}
    assert (newest["event"], newest["attempt"], newest["status_code"], newest["error"],
            newest["next_attempt_at"]) == (first["id"], 2, 204, None, None)
    assert (oldest["attempt"], oldest["status_code"]) == (1, 503)
    assert oldest["error"] == "HTTP 503 Service Unavailable"
    assert oldest["next_attempt_at"] is not None and isinstance(oldest["duration_ms"], int)


def test_recover_schedules_again_what_the_endpoint_has_not_acknowledged(
    api_client: Client, agency: SignedUpAgency
) -> None:
    hook = created(api_client, event_types=["webhook.test"])
    post(api_client, f"webhooks/{hook['id']}/test")
    with schema_context(agency.agency.schema_name):
        Delivery.objects.update(next_attempt_at=None, attempts=8)  # given up on
        delivered = Event.objects.create(type="webhook.test", created_at=datetime.now(UTC),
                                         data={"webhook": hook["id"]}, for_endpoint=hook["id"])
        Delivery.objects.create(endpoint_id=hook["id"], event=delivered, attempts=1,
                                delivered_at=datetime.now(UTC), created_at=datetime.now(UTC))
        Event.objects.create(type="webhook.test", created_at=datetime.now(UTC),
                             data={"webhook": 0}, for_endpoint=0)  # another endpoint's
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    response = post(api_client, f"webhooks/{hook['id']}/recover", {"since": since})
    assert response.status_code == 202, response.content
    assert response.json() == {"scheduled": 1}
    with schema_context(agency.agency.schema_name):
        assert Delivery.objects.filter(next_attempt_at__isnull=False).count() == 1


def test_recover_sends_no_sooner_than_the_endpoint_asked(
    api_client: Client, agency: SignedUpAgency
) -> None:
    """An endpoint that answered 503 with Retry-After is not tried before then, however often
    `recover` is called."""
    hook = created(api_client, event_types=["webhook.test"])
    post(api_client, f"webhooks/{hook['id']}/test")
    later = datetime.now(UTC) + timedelta(hours=6)
    with schema_context(agency.agency.schema_name):
        WebhookEndpoint.objects.filter(pk=hook["id"]).update(available_at=later)
        Delivery.objects.update(next_attempt_at=later + timedelta(days=1), attempts=3)
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    for _ in range(3):
        assert post(api_client, f"webhooks/{hook['id']}/recover",
                    {"since": since}).status_code == 202
    with schema_context(agency.agency.schema_name):
        assert list(Delivery.objects.values_list("next_attempt_at", flat=True)) == [later]
        Delivery.objects.update(attempts=70_000)  # past a smallint: recovered that often
        assert Delivery.objects.get().attempts == 70_000


@pytest.mark.parametrize("since", ["2026-03-01T00:00:00", "yesterday", "", 5])
def test_recover_needs_an_instant_with_an_offset(api_client: Client, since: Any) -> None:
    hook = created(api_client)
    response = post(api_client, f"webhooks/{hook['id']}/recover", {"since": since})
    assert refused_field(response) == ["since"]
    assert refused_field(post(api_client, f"webhooks/{hook['id']}/recover", {})) == ["since"]


def test_events_come_in_id_order_after_the_id_given(api_client: Client) -> None:
    hook = created(api_client)
    ids = [post(api_client, f"webhooks/{hook['id']}/test").json()["event"]["id"]
           for _ in range(5)]
    page = api_client.get("/api/v1/events", {"after": ids[1], "limit": 2}).json()
    assert [e["id"] for e in page["results"]] == ids[2:4] and page["has_more"] is True
    last = api_client.get("/api/v1/events", {"after": ids[3]}).json()
    assert [e["id"] for e in last["results"]] == ids[4:] and last["has_more"] is False
    event = last["results"][0]
    assert set(event) == {"id", "type", "created_at", "data"}
    assert event["created_at"].endswith("Z")


def test_events_filter_by_type(api_client: Client) -> None:
    hook = created(api_client)
    post(api_client, f"webhooks/{hook['id']}/test")
    assert api_client.get("/api/v1/events", {"type": "campaign.paused"}).json()["results"] == []
    tests = api_client.get("/api/v1/events", {"type": "webhook.test"}).json()["results"]
    assert [e["type"] for e in tests] == ["webhook.test"]


@pytest.mark.parametrize("params, field", [
    ({"after": "x"}, "after"), ({"after": "-1"}, "after"), ({"after": "1.5"}, "after"),
    ({"limit": "0"}, "limit"), ({"limit": "101"}, "limit"), ({"limit": "ten"}, "limit"),
    ({"type": "campaign.deleted"}, "type"),
])
def test_bad_event_queries_are_a_400_naming_the_parameter(
    api_client: Client, params: dict[str, str], field: str
) -> None:
    assert refused_field(api_client.get("/api/v1/events", params)) == [field]


def test_an_unknown_event_is_404(api_client: Client) -> None:
    response = api_client.get("/api/v1/events/999999")
    assert response.status_code == 404 and response.json()["error"] == "not_found"


def test_a_read_token_reads_webhooks_but_cannot_change_them(
    api_client: Client, agency: SignedUpAgency
) -> None:
    hook = created(api_client)
    token = post(api_client, "tokens", {"name": "ro", "scopes": ["read"]}).json()["token"]
    reader = agency.client(token)
    assert reader.get("/api/v1/webhooks").status_code == 200
    assert reader.get("/api/v1/events").status_code == 200
    assert reader.get(f"/api/v1/webhooks/{hook['id']}/deliveries").status_code == 200
    assert post(reader, "webhooks", {"url": HOOK}).status_code == 403
    for action in ("test", "rotate-secret", "recover"):
        assert post(reader, f"webhooks/{hook['id']}/{action}").status_code == 403
    assert reader.delete(f"/api/v1/webhooks/{hook['id']}").status_code == 403


def test_another_agency_sees_none_of_it(
    api_client: Client, make_agency: Any
) -> None:
    hook = created(api_client)
    post(api_client, f"webhooks/{hook['id']}/test")
    other = make_agency("globex").client()
    assert other.get(f"/api/v1/webhooks/{hook['id']}").status_code == 404
    assert other.get("/api/v1/events").json()["results"] == []


def test_every_change_of_a_webhook_is_in_the_audit_log_but_never_its_secret(
    api_client: Client,
) -> None:
    hook = created(api_client, description="ERP")
    patch(api_client, f"webhooks/{hook['id']}", {"enabled": False, "description": "ERP 2"})
    rotated = post(api_client, f"webhooks/{hook['id']}/rotate-secret").json()["secret"]
    api_client.delete(f"/api/v1/webhooks/{hook['id']}")
    entries = api_client.get("/api/v1/audit", {"object_type": "webhook"}).json()["results"]
    assert [(e["action"], e["object"]) for e in reversed(entries)] == [
        ("create", {"type": "webhook", "id": hook["id"]}),
        ("update", {"type": "webhook", "id": hook["id"]}),
        ("update", {"type": "webhook", "id": hook["id"]}),
        ("delete", {"type": "webhook", "id": hook["id"]}),
    ]
    assert entries[-1]["changes"]["url"] == [None, HOOK]
    assert entries[-2]["changes"] == {"enabled": [True, False], "description": ["ERP", "ERP 2"]}
    assert entries[-3]["changes"] == {"secret": ["(hidden)", "(rotated)"]}
    assert entries[0]["actor"]["type"] == "token"
    text = json.dumps(entries)
    assert hook["secret"] not in text and rotated not in text

"""Spend ingestion through HTTP: idempotency by event_id, all-or-nothing batches, bounded
queries, and the single spend's way through Django (its middleware, hosts and tokens)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, ClassVar

import pytest
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import reverse
from django_tenants.utils import schema_context

from campaigns.api.middleware import SPEND_PATH
from campaigns.models import Spend, SpendTotal
from saas.db import connection
from tenants.models import ApiToken
from tenants.tokens import generate_token
from tests.conftest import Api, make_tenant

pytestmark = pytest.mark.django_db


def ledger_rows(api: Api) -> int:
    with schema_context(api.agency.schema_name):
        return Spend.objects.count()


def today_spend(api: Api, campaign: dict[str, Any]) -> str:
    return api.status(campaign)["evaluation"]["spend"]["campaign_today"]


def batch(api: Api, events: list[dict[str, Any]]) -> Any:
    return api.post("spend/batch", {"events": events})


# --- Single events: idempotency -------------------------------------------------------------

def test_a_retry_with_the_same_body_gets_the_first_response_and_counts_once(api: Api) -> None:
    campaign = api.campaign(api.brand(), daily_budget="10.00")
    at = datetime.now(UTC).replace(microsecond=0)
    event = {"campaign": campaign["id"], "amount": "10.00", "event_id": "etl-1",
             "occurred_at": at.isoformat()}
    first = api.ok(api.post("spend", event), 201)
    assert first["campaign_status"] == {"status": "paused",
                                        "pause_reasons": ["campaign_daily_budget"]}
    api.ok(api.post(f"campaigns/{campaign['id']}/resume"))
    # The same event, re-serialised: a number for the amount, the instant in another offset.
    retry = dict(event, amount=10,
                 occurred_at=at.astimezone(timezone(timedelta(hours=1))).isoformat())
    again = api.post("spend", retry)
    assert again.status_code == 200
    assert again.json() == first  # the first response, status as it was then
    assert ledger_rows(api) == 1
    with schema_context(api.agency.schema_name):
        assert [t.amount for t in SpendTotal.objects.order_by("period")] == [
            Decimal("10"), Decimal("10")]


def test_the_same_event_id_with_a_different_body_is_409_and_changes_nothing(api: Api) -> None:
    brand = api.brand()
    campaign, other = api.campaign(brand), api.campaign(brand, name="Other")
    api.spend(campaign, "1.00", event_id="etl-2")
    for different in ({"amount": "1.01"}, {"campaign": other["id"]},
                      {"occurred_at": "2026-03-01T12:00:00Z"}):
        body = {"campaign": campaign["id"], "amount": "1.00", "event_id": "etl-2", **different}
        response = api.post("spend", body)
        assert response.status_code == 409, response.content
        assert response.json()["error"] == "conflict"
        assert "event_id" in response.json()["message"]
    assert ledger_rows(api) == 1
    assert today_spend(api, campaign) == "1.00"
    assert today_spend(api, other) == "0.00"


def test_spends_without_event_id_are_never_deduplicated(api: Api) -> None:
    campaign = api.campaign(api.brand())
    for _ in range(3):
        assert api.spend(campaign, "1.00")["event_id"] is None
    assert today_spend(api, campaign) == "3.00"


def test_a_single_retry_of_an_event_first_sent_in_a_batch_is_200(api: Api) -> None:
    campaign = api.campaign(api.brand())
    event = {"campaign": campaign["id"], "amount": "2.5", "event_id": "b-1",
             "occurred_at": "2026-03-01T12:00:00Z"}
    api.ok(batch(api, [event]))
    replay = api.ok(api.post("spend", event), 200)
    assert replay["amount"] == "2.50" and replay["event_id"] == "b-1"
    assert replay["occurred_at"] == "2026-03-01T12:00:00Z"
    assert replay["campaign_status"] == {"status": "active", "pause_reasons": []}
    assert ledger_rows(api) == 1


# --- Batches ---------------------------------------------------------------------------------

def test_a_batch_stores_every_event_and_answers_each_touched_campaigns_status(api: Api) -> None:
    brand = api.brand(daily_budget="100.00")
    capped, free = api.campaign(brand, daily_budget="5.00"), api.campaign(brand, name="Free")
    events = [{"campaign": capped["id"], "amount": "2.50"} for _ in range(2)]
    events += [{"campaign": free["id"], "amount": 1.25, "event_id": f"f-{n}"} for n in range(4)]
    body = api.ok(batch(api, events))
    assert body == {"created": 6, "duplicates": 0, "campaigns": [
        {"id": capped["id"], "status": "paused", "pause_reasons": ["campaign_daily_budget"]},
        {"id": free["id"], "status": "active", "pause_reasons": []},
    ]}
    assert today_spend(api, capped) == "5.00"
    assert today_spend(api, free) == "5.00"
    history = api.ok(api.get(f"campaigns/{capped['id']}/history"))["results"]
    assert [(h["to"], h["cause"]) for h in history] == [("paused", "spend")]


def test_a_batch_that_uses_up_the_brand_cap_pauses_campaigns_it_did_not_touch(api: Api) -> None:
    brand = api.brand(daily_budget="10.00")
    touched, untouched = api.campaign(brand), api.campaign(brand, name="Untouched")
    body = api.ok(batch(api, [{"campaign": touched["id"], "amount": "10"}]))
    assert body["campaigns"] == [
        {"id": touched["id"], "status": "paused", "pause_reasons": ["brand_daily_budget"]}]
    assert api.status(untouched)["pause_reasons"] == ["brand_daily_budget"]


def test_repeats_within_a_batch_and_against_the_ledger_are_counted_not_stored(api: Api) -> None:
    campaign = api.campaign(api.brand())
    api.spend(campaign, "1.00", event_id="seen")
    event = {"campaign": campaign["id"], "amount": "2.00", "event_id": "new"}
    body = api.ok(batch(api, [
        event, dict(event), {"campaign": campaign["id"], "amount": "1", "event_id": "seen"},
    ]))
    assert body["created"] == 1 and body["duplicates"] == 2
    assert today_spend(api, campaign) == "3.00"
    again = api.ok(batch(api, [event]))
    assert again == {"created": 0, "duplicates": 1, "campaigns": [
        {"id": campaign["id"], "status": "active", "pause_reasons": []}]}
    assert ledger_rows(api) == 2


def test_a_repeat_within_a_batch_with_a_different_body_is_400_at_its_index(api: Api) -> None:
    campaign = api.campaign(api.brand())
    response = batch(api, [
        {"campaign": campaign["id"], "amount": "1", "event_id": "x"},
        {"campaign": campaign["id"], "amount": "1"},
        {"campaign": campaign["id"], "amount": "2", "event_id": "x"},
    ])
    assert response.status_code == 400, response.content
    assert list(response.json()["fields"]["events"]) == ["2"]
    assert "event_id" in response.json()["fields"]["events"]["2"]
    assert ledger_rows(api) == 0


def test_an_event_id_in_the_ledger_with_a_different_body_is_409_naming_the_index(
    api: Api,
) -> None:
    campaign = api.campaign(api.brand())
    api.spend(campaign, "1.00", event_id="taken")
    response = batch(api, [{"campaign": campaign["id"], "amount": "5"},
                           {"campaign": campaign["id"], "amount": "2", "event_id": "taken"}])
    assert response.status_code == 409, response.content
    assert response.json()["error"] == "conflict"
    assert "Event 1" in response.json()["message"] and "taken" in response.json()["message"]
    assert ledger_rows(api) == 1
    assert today_spend(api, campaign) == "1.00"


def test_unknown_and_foreign_campaigns_are_errors_by_index_and_store_nothing(api: Api) -> None:
    campaign = api.campaign(api.brand())
    response = batch(api, [{"campaign": campaign["id"], "amount": "1"},
                           {"campaign": 987654, "amount": "1"}])
    assert response.status_code == 400, response.content
    assert response.json()["fields"]["events"] == {"1": {"campaign": ["Unknown campaign."]}}
    assert "events: 1: campaign: Unknown campaign." in response.json()["message"]
    # Another agency (with no campaigns of its own) cannot spend on ours.
    connection.set_schema_to_public()
    other, other_token = make_tenant("other-agency")
    intruder = Api(Client(HTTP_HOST=f"other-agency.{settings.BASE_DOMAIN}"), other_token, other)
    response = batch(intruder, [{"campaign": campaign["id"], "amount": "1"}])
    assert response.status_code == 400, response.content
    assert response.json()["fields"]["events"] == {"0": {"campaign": ["Unknown campaign."]}}
    assert ledger_rows(api) == 0 and ledger_rows(intruder) == 0


def test_more_than_1000_events_is_413_and_stores_nothing(api: Api) -> None:
    campaign = api.campaign(api.brand())
    response = batch(api, [{"campaign": campaign["id"], "amount": "1"}] * 1001)
    assert response.status_code == 413, response.content
    assert response.json()["error"] == "payload_too_large"
    assert "1000" in response.json()["message"]
    assert ledger_rows(api) == 0


def test_an_empty_batch_does_nothing(api: Api) -> None:
    assert api.ok(batch(api, [])) == {"created": 0, "duplicates": 0, "campaigns": []}


# --- Bounded queries -------------------------------------------------------------------------
# Per request: one lookup of the host's agency and the token together (no `SET search_path`:
# the connection already serves this agency); the transaction's savepoint and its release (the
# test runs inside a transaction); the brand locks (which also read the brands); the write
# (events and totals in one statement); the decision's one read of the campaigns' caps, windows,
# totals and stored reasons; and a write of statuses and history only when some reasons change
# (none do here). An event with an event_id keeps its campaign's status in the write itself;
# only when the decision changes that status does one more statement keep it. A single spend
# locks and writes in one statement once the process has seen its brand's time zone.
BATCH_QUERIES = 6
SINGLE_QUERIES = 5
# Spend that counts to another local day or month than now's, under a brand budget, costs one
# statement more: the brand's total of that period, for its thresholds (the decision's read
# holds only today's and this month's).
LATE_BRAND_TOTALS = 1


@pytest.mark.parametrize("size", [10, 1000])
def test_a_batch_runs_the_same_number_of_queries_whatever_its_size(
    api: Api, django_assert_num_queries: Any, size: int
) -> None:
    brands = [api.brand(name=f"B{n}", daily_budget="100000") for n in range(3)]
    campaigns = [api.campaign(brand, name=f"C{n}") for brand in brands for n in range(3)]
    api.spend(campaigns[0], "1")  # the token's last use is now recorded: no write below
    events = [{"campaign": campaigns[n % len(campaigns)]["id"], "amount": "0.01",
               "event_id": f"q-{n}", "occurred_at": "2026-03-01T12:00:00Z"}
              for n in range(size)]
    with django_assert_num_queries(BATCH_QUERIES + LATE_BRAND_TOTALS):  # March, capped brands
        body = api.ok(batch(api, events))
    assert body["created"] == size
    assert len(body["campaigns"]) == min(size, len(campaigns))


@pytest.mark.parametrize("event_id", [None, "with-id"])
def test_a_single_spend_runs_a_fixed_number_of_queries(
    api: Api, django_assert_num_queries: Any, event_id: str | None
) -> None:
    brand = api.brand(daily_budget="1000")
    campaign = api.campaign(brand)
    for n in range(5):
        api.campaign(brand, name=f"Sibling {n}")
    api.spend(campaign, "1")
    with django_assert_num_queries(SINGLE_QUERIES):
        response = api.post("spend", {"campaign": campaign["id"], "amount": "1",
                                      **({"event_id": event_id} if event_id else {})})
    assert response.status_code == 201


def test_occurred_at_is_answered_in_utc_the_first_time_and_on_replay(api: Api) -> None:
    campaign = api.campaign(api.brand())
    body = {"campaign": campaign["id"], "amount": "1", "event_id": "tz-1",
            "occurred_at": "2026-03-01T13:00:00+01:00"}
    first = api.ok(api.post("spend", body), 201)
    replay = api.ok(api.post("spend", body), 200)
    assert first["occurred_at"] == replay["occurred_at"] == "2026-03-01T12:00:00Z"


def test_a_full_batch_of_the_largest_events_still_fits(api: Any) -> None:
    campaign = api.campaign(api.brand())
    events = [{"campaign": campaign["id"], "amount": "0.000001",
               "occurred_at": "2026-03-01T12:00:00.123456+05:45", "event_id": f"{i:0200d}"}
              for i in range(1000)]

    response = api.post("spend/batch", {"events": events})

    assert response.status_code == 200, response.content[:300]
    assert response.json()["created"] == 1000


@pytest.mark.parametrize("path", ["spend", "spend/batch"])
def test_a_spend_past_the_largest_total_kept_is_a_409_and_stores_nothing(
    api: Api, path: str,
) -> None:
    campaign = api.campaign(api.brand())
    api.spend(campaign, "1.00")
    with schema_context(api.agency.schema_name):
        SpendTotal.objects.filter(campaign_id=campaign["id"], period="m").update(
            amount=Decimal("999999999999999999"))
    event = {"campaign": campaign["id"], "amount": "999999999999"}

    response = api.post(path, {"events": [event]} if path == "spend/batch" else event)

    assert response.status_code == 409, response.content
    assert response.json()["error"] == "conflict"
    assert ledger_rows(api) == 1


# --- The spend's way through Django -----------------------------------------------------------

def post_spend(client: Client, token: str, body: dict[str, Any], **headers: Any) -> Any:
    return client.post("/api/v1/spend", json.dumps(body), content_type="application/json",
                       HTTP_AUTHORIZATION=f"Bearer {token}", **headers)


def test_the_spend_middleware_answers_the_urlconfs_spend_path_on_every_host() -> None:
    for urlconf in (settings.PUBLIC_SCHEMA_URLCONF, settings.ROOT_URLCONF):
        assert reverse("spend", urlconf=urlconf) == SPEND_PATH


def test_on_the_public_host_a_spend_acts_in_the_tokens_agency(api: Api) -> None:
    campaign = api.campaign(api.brand(), daily_budget="2.00")
    response = post_spend(Client(HTTP_HOST=settings.BASE_DOMAIN), api.token,
                          {"campaign": campaign["id"], "amount": "2.00"})
    assert response.status_code == 201, response.content
    assert response.json()["campaign_status"] == {
        "status": "paused", "pause_reasons": ["campaign_daily_budget"]}
    assert ledger_rows(api) == 1


def test_a_token_of_another_agency_on_an_agency_host_is_401_and_stores_nothing(
    api: Api,
) -> None:
    campaign = api.campaign(api.brand())
    connection.set_schema_to_public()
    _, other_token = make_tenant("other-agency")
    response = post_spend(api.client, other_token, {"campaign": campaign["id"], "amount": "1"})
    assert response.status_code == 401, response.content
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert ledger_rows(api) == 0


def test_without_spend_write_a_spend_is_403_and_without_a_token_401(api: Api) -> None:
    campaign = api.campaign(api.brand())
    token = generate_token()
    ApiToken.objects.create(agency=api.agency, name="ro", prefix=token.prefix,
                            secret_hash=token.secret_hash, scopes=["read"])
    body = {"campaign": campaign["id"], "amount": "1"}
    forbidden = post_spend(api.client, token.plaintext, body)
    assert forbidden.status_code == 403 and forbidden.json()["error"] == "permission_denied"
    anonymous = api.client.post("/api/v1/spend", json.dumps(body),
                                content_type="application/json")
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "not_authenticated"
    assert ledger_rows(api) == 0


@pytest.mark.parametrize("send, status", [
    (lambda api, body: api.client.get("/api/v1/spend", HTTP_AUTHORIZATION=f"Bearer {api.token}"),
     405),
    (lambda api, body: api.client.post("/api/v1/spend", body,
                                       HTTP_AUTHORIZATION=f"Bearer {api.token}"), 415),
    (lambda api, body: post_spend(api.client, api.token, body, HTTP_ACCEPT="text/html"), 406),
    (lambda api, body: api.client.post(
        "/api/v1/spend", json.dumps(body).encode("latin-1"),
        content_type="application/json; charset=latin-1",
        HTTP_AUTHORIZATION=f"Bearer {api.token}"), 201),
    (lambda api, body: post_spend(api.client, api.token, body,
                                  HTTP_ACCEPT="text/html;q=0.9, application/json"), 201),
], ids=["GET", "a form body", "an Accept without JSON", "another charset", "a list of Accepts"])
def test_the_spend_endpoint_answers_as_drf_answers_its_views(
    api: Api, send: Any, status: int
) -> None:
    campaign = api.campaign(api.brand())
    response = send(api, {"campaign": campaign["id"], "amount": "1.00"})
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    if status == 405:
        assert response["Allow"] == "POST"
    assert ledger_rows(api) == (1 if status == 201 else 0)


def test_behind_a_tls_proxy_a_spend_gets_hsts_and_plain_http_is_redirected(
    api: Api, settings: Any
) -> None:
    campaign = api.campaign(api.brand())
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 3600
    body = {"campaign": campaign["id"], "amount": "1"}
    client = Client(HTTP_HOST=api.client.defaults["HTTP_HOST"])  # middleware made anew
    secure = post_spend(client, api.token, body, HTTP_X_FORWARDED_PROTO="https")
    assert secure.status_code == 201, secure.content
    assert secure["Strict-Transport-Security"] == "max-age=3600"
    plain = post_spend(client, api.token, body)
    assert plain.status_code == 301 and plain["Location"].startswith("https://")
    assert ledger_rows(api) == 1


class SeesEverySpend:
    """What a middleware placed above SpendMiddleware gets: every spend, with its tenancy."""

    seen: ClassVar[list[tuple[str, str]]] = []

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        tenancy = request.tenancy  # type: ignore[attr-defined]
        self.seen.append((request.path, tenancy.agency.slug))
        response["X-Seen"] = "yes"
        return response


def test_middleware_above_the_spend_middleware_applies_to_spend(api: Api, settings: Any) -> None:
    """Where a per-token rate limit goes: above SpendMiddleware it sees every spend, after the
    tenant and the token are known."""
    spend_middleware = settings.MIDDLEWARE.index("campaigns.api.middleware.SpendMiddleware")
    settings.MIDDLEWARE = [*settings.MIDDLEWARE[:spend_middleware],
                           f"{__name__}.SeesEverySpend", *settings.MIDDLEWARE[spend_middleware:]]
    campaign = api.campaign(api.brand())
    SeesEverySpend.seen.clear()
    for client in (Client(HTTP_HOST=api.client.defaults["HTTP_HOST"]),
                   Client(HTTP_HOST=settings.BASE_DOMAIN)):
        response = post_spend(client, api.token, {"campaign": campaign["id"], "amount": "1"})
        assert response.status_code == 201 and response["X-Seen"] == "yes"
    assert SeesEverySpend.seen == [(SPEND_PATH, api.agency.slug)] * 2


def test_a_retry_reads_byte_for_byte_as_the_first_answer(api: Api) -> None:
    campaign = api.campaign(api.brand())
    body = {"campaign": campaign["id"], "amount": "2.50", "event_id": "etl-8",
            "occurred_at": "2026-03-01T12:00:00+01:00"}
    first, retry = (post_spend(api.client, api.token, body) for _ in range(2))
    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.content == first.content  # key order included


def test_prepared_statements_follow_the_agency_when_one_connection_serves_two(
    api: Api,
) -> None:
    """The hot path's statements are prepared once per connection and name no schema: each
    agency's spend must still land in its own ledger, campaign ids alike."""
    connection.set_schema_to_public()
    other_agency, other_token = make_tenant("other-agency")
    other = Api(client=Client(HTTP_HOST=f"other-agency.{settings.BASE_DOMAIN}"),
                token=other_token, agency=other_agency)
    ours, theirs = api.campaign(api.brand()), other.campaign(other.brand())
    assert ours["id"] == theirs["id"]  # each schema numbers its own campaigns
    for n in range(8):  # past psycopg's and PostgreSQL's thresholds for preparing and planning
        for side, campaign in ((api, ours), (other, theirs)):
            response = post_spend(side.client, side.token, {"campaign": campaign["id"],
                                                            "amount": f"{n + 1}.00"})
            assert response.status_code == 201
    for side in (api, other):
        with schema_context(side.agency.schema_name):
            assert sorted(Spend.objects.values_list("amount", flat=True)) == [
                Decimal(f"{n + 1}.000000") for n in range(8)]


def test_the_schema_documents_both_spend_endpoints_with_what_they_enforce(
    public_client: Client,
) -> None:
    schema = public_client.get("/api/v1/schema/", {"format": "json"}).json()
    single = schema["paths"]["/api/v1/spend"]["post"]
    event = {"$ref": "#/components/schemas/SpendEvent"}
    assert single["requestBody"]["content"]["application/json"]["schema"] == event
    assert set(single["responses"]) >= {"200", "201", "400", "401", "403", "409"}
    batch = schema["paths"]["/api/v1/spend/batch"]["post"]
    events = batch["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert events["events"] == {"type": "array", "maxItems": 1000, "items": event}
    fields = schema["components"]["schemas"]["SpendEvent"]["properties"]
    assert fields["event_id"]["maxLength"] == 200
    assert {"type": "number", "exclusiveMinimum": 0, "maximum": 999999999999,
            "multipleOf": 0.000001} in fields["amount"]["oneOf"]

"""The spend fast path (`campaigns.api.fast_spend`) answers the common case exactly as the view
would, and hands everything else to Django before writing anything."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django_tenants.utils import schema_context

from campaigns.models import Spend
from tenants.models import ApiToken
from tenants.tokens import generate_token
from tests.campaigns.conftest import Api, make_tenant
from tests.conftest import ServiceClient

pytestmark = pytest.mark.django_db

COMPARED_ELSEWHERE = {"id", "event_id"}
AN_HOUR_AGO = (datetime.now(UTC) - timedelta(hours=1)).isoformat()


def post_spend(client: Client, api: Api, body: dict[str, Any], **headers: Any) -> Any:
    headers.setdefault("HTTP_AUTHORIZATION", f"Bearer {api.token}")
    return client.post("/api/v1/spend", json.dumps(body), content_type="application/json",
                       **headers)


def fast(response: Any) -> bool:
    return getattr(response, "served_by_fast_path", False)


def host(api: Api) -> str:
    return f"{api.agency.slug}.{settings.BASE_DOMAIN}"


def same_answers(api: Api, body: dict[str, Any], **headers: Any) -> tuple[Any, Any]:
    """The same spend (two event_ids) answered by the fast path and by Django alone."""
    through_fast = post_spend(ServiceClient(HTTP_HOST=host(api)), api,
                              {**body, "event_id": "fast"}, **headers)
    through_django = post_spend(Client(HTTP_HOST=host(api)), api,
                                {**body, "event_id": "slow"}, **headers)
    assert fast(through_fast) and not fast(through_django)
    return through_fast, through_django


def comparable(response: Any) -> tuple[int, dict[str, str], dict[str, Any]]:
    body = {k: v for k, v in response.json().items() if k not in COMPARED_ELSEWHERE}
    headers = {k: v for k, v in response.headers.items() if k != "RateLimit-Remaining"}
    return response.status_code, headers, body


def test_a_common_spend_gets_the_views_status_body_and_headers(api: Api) -> None:
    campaign = api.campaign(api.brand(daily_budget="10.00"))
    through_fast, through_django = same_answers(
        api, {"campaign": campaign["id"], "amount": "4.00", "occurred_at": AN_HOUR_AGO})
    assert comparable(through_fast) == comparable(through_django)
    assert through_fast.json()["event_id"] == "fast"


def test_behind_a_tls_proxy_it_adds_hsts_as_the_security_middleware_does(
    api: Api, settings: Any
) -> None:
    campaign = api.campaign(api.brand())
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 3600
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    through_fast, through_django = same_answers(
        api, {"campaign": campaign["id"], "amount": "1", "occurred_at": AN_HOUR_AGO},
        HTTP_X_FORWARDED_PROTO="https")
    assert comparable(through_fast) == comparable(through_django)
    assert through_fast.headers["Strict-Transport-Security"] == "max-age=3600; includeSubDomains"
    plain = post_spend(ServiceClient(HTTP_HOST=host(api)), api,
                       {"campaign": campaign["id"], "amount": "1"})
    assert not fast(plain) and plain.status_code == 301  # Django redirects to https


def test_the_spend_that_uses_up_the_budget_answers_paused_on_the_fast_path(api: Api) -> None:
    campaign = api.campaign(api.brand(), daily_budget="5.00")
    response = post_spend(api.client, api, {"campaign": campaign["id"], "amount": "5.00"})
    assert fast(response) and response.status_code == 201
    assert response.json()["campaign_status"] == {"status": "paused",
                                                  "pause_reasons": ["campaign_daily_budget"]}


def test_a_retry_is_answered_on_the_fast_path_with_the_first_response(api: Api) -> None:
    campaign = api.campaign(api.brand())
    body = {"campaign": campaign["id"], "amount": "2.50", "event_id": "etl-7"}
    first, retry = (post_spend(api.client, api, body) for _ in range(2))
    assert fast(first) and fast(retry)
    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.content == first.content  # byte for byte, key order included


def test_through_django_too_a_retry_reads_byte_for_byte_as_the_first_answer(api: Api) -> None:
    campaign = api.campaign(api.brand())
    body = {"campaign": campaign["id"], "amount": "2.50", "event_id": "etl-8",
            "occurred_at": AN_HOUR_AGO}
    first, retry = (post_spend(Client(HTTP_HOST=host(api)), api, body) for _ in range(2))
    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.content == first.content


def read_only_token(api: Api) -> str:
    token = generate_token()
    ApiToken.objects.create(agency=api.agency, name="ro", prefix=token.prefix,
                            secret_hash=token.secret_hash, scopes=["read"])
    return token.plaintext


DECLINED: dict[str, tuple[Callable[[Api, dict[str, Any]], Any], int]] = {
    "not JSON": (lambda api, body: api.client.post(
        "/api/v1/spend", b"{oops", content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {api.token}"), 400),
    "a bad amount": (lambda api, body: post_spend(api.client, api, {**body, "amount": "0"}),
                     400),
    "an unknown campaign": (lambda api, body: post_spend(
        api.client, api, {**body, "campaign": 999_999}), 400),
    "no token": (lambda api, body: post_spend(api.client, api, body,
                                              HTTP_AUTHORIZATION=""), 401),
    "a token without spend:write": (lambda api, body: post_spend(
        api.client, api, body, HTTP_AUTHORIZATION=f"Bearer {read_only_token(api)}"), 403),
    "a query string": (lambda api, body: api.client.post(
        "/api/v1/spend?format=json", json.dumps(body), content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {api.token}"), 201),
    "a form body": (lambda api, body: api.client.post(
        "/api/v1/spend", body, HTTP_AUTHORIZATION=f"Bearer {api.token}"), 415),
    "a content type DRF does not read as JSON": (lambda api, body: api.client.post(
        "/api/v1/spend", json.dumps(body), content_type="application/ json",
        HTTP_AUTHORIZATION=f"Bearer {api.token}"), 415),
    "another charset": (lambda api, body: api.client.post(
        "/api/v1/spend", json.dumps(body), content_type="application/json; charset=latin-1",
        HTTP_AUTHORIZATION=f"Bearer {api.token}"), 201),
    "a number too large to read": (lambda api, body: api.client.post(
        "/api/v1/spend", json.dumps(body)[:-1] + ', "x": 1e99999999999999999999}',
        content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {api.token}"), 400),
    "an Accept it cannot render": (lambda api, body: post_spend(
        api.client, api, body, HTTP_ACCEPT="text/html"), 406),
    "the public host": (lambda api, body: post_spend(
        ServiceClient(HTTP_HOST=settings.BASE_DOMAIN), api, body), 201),
    "a host not allowed": (lambda api, body: post_spend(
        ServiceClient(HTTP_HOST="evil.example.net"), api, body), 404),
}


@pytest.mark.parametrize("case", DECLINED)
def test_everything_else_is_declined_unwritten_and_answered_by_django(
    api: Api, case: str
) -> None:
    campaign = api.campaign(api.brand())
    send, status = DECLINED[case]
    response = send(api, {"campaign": campaign["id"], "amount": "1.00"})
    assert not fast(response)
    assert response.status_code == status, response.content
    with schema_context(api.agency.schema_name):
        assert Spend.objects.count() == (1 if status == 201 else 0)


def test_a_charset_named_in_capitals_is_still_the_fast_path(api: Api) -> None:
    campaign = api.campaign(api.brand())
    response = api.client.post(
        "/api/v1/spend", json.dumps({"campaign": campaign["id"], "amount": "1"}),
        content_type="application/json; charset=UTF-8", HTTP_AUTHORIZATION=f"Bearer {api.token}")
    assert fast(response) and response.status_code == 201


def test_an_event_id_reused_with_another_body_is_declined_and_answered_409(api: Api) -> None:
    campaign = api.campaign(api.brand())
    body = {"campaign": campaign["id"], "amount": "1.00", "event_id": "etl-9"}
    assert post_spend(api.client, api, body).status_code == 201
    conflict = post_spend(api.client, api, {**body, "amount": "2.00"})
    assert not fast(conflict) and conflict.status_code == 409


def test_prepared_statements_follow_the_agency_when_one_connection_serves_two(
    api: Api,
) -> None:
    """The hot path's statements are prepared once per connection and name no schema: each
    agency's spend must still land in its own ledger, campaign ids alike."""
    other_agency, other_token = make_tenant("other-agency")
    other = Api(client=ServiceClient(HTTP_HOST=f"other-agency.{settings.BASE_DOMAIN}"),
                token=other_token, agency=other_agency)
    ours, theirs = api.campaign(api.brand()), other.campaign(other.brand())
    assert ours["id"] == theirs["id"]  # each schema numbers its own campaigns
    for n in range(8):  # past psycopg's and PostgreSQL's thresholds for preparing and planning
        for side, campaign in ((api, ours), (other, theirs)):
            response = post_spend(side.client, side, {"campaign": campaign["id"],
                                                       "amount": f"{n + 1}.00"})
            assert fast(response) and response.status_code == 201
    for side in (api, other):
        with schema_context(side.agency.schema_name):
            assert sorted(Spend.objects.values_list("amount", flat=True)) == [
                Decimal(f"{n + 1}.000000") for n in range(8)]


"""The per-token API rate (`saas.throttle`): headers on every API response, 429 past the rate
with nothing stored, shared by gunicorn's worker processes, and open when Redis is down; and the
per-agency rate over all of an agency's tokens, which only its own requests count against."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from campaigns.models import Brand
from saas import ratelimit
from saas.embedded import free_port, start_redis
from tests.conftest import SignedUpAgency

BRAND = {"name": "B", "timezone": "UTC"}


def post_brand(client: Client) -> Any:
    return client.post("/api/v1/brands", BRAND, content_type="application/json")


@pytest.mark.django_db
def test_every_api_response_carries_the_rate_headers(agency: SignedUpAgency) -> None:
    for response in (agency.client().get("/api/v1/brands"),
                     agency.client().get("/api/v1/no-such-thing"),
                     agency.client(token="bc0123456789_" + "0" * 64).get("/api/v1/brands"),
                     Client(HTTP_HOST=agency.domain).get("/api/v1/brands")):
        assert response["RateLimit-Limit"] == "1000"
        assert 0 <= int(response["RateLimit-Remaining"]) < 1000
        assert int(response["RateLimit-Reset"]) >= 0


@pytest.mark.django_db
def test_pages_carry_no_rate_headers(agency: SignedUpAgency) -> None:
    assert not Client(HTTP_HOST=agency.domain).get("/login/").has_header("RateLimit-Limit")


@pytest.mark.django_db
def test_past_its_rate_a_token_gets_429_and_nothing_is_stored(
    agency: SignedUpAgency, settings: Any
) -> None:
    settings.API_RATE_LIMIT = "3/minute"
    client = agency.client()  # its middleware reads the setting when first used
    answers = [post_brand(client) for _ in range(4)]

    assert [a.status_code for a in answers] == [201, 201, 201, 429]
    refused = answers[3]
    assert refused.json()["error"] == "throttled"
    assert 15 <= int(refused["Retry-After"]) <= 20  # one request every 20 s
    assert refused["RateLimit-Remaining"] == "0"
    with schema_context(agency.agency.schema_name):
        assert Brand.objects.count() == 3


@pytest.mark.django_db
def test_a_tokens_rate_is_its_own_on_every_host(
    make_agency: Callable[..., SignedUpAgency], settings: Any
) -> None:
    settings.API_RATE_LIMIT = "2/minute"
    acme, other = make_agency("acme"), make_agency("other")
    public = acme.client(HTTP_HOST="localhost")
    assert acme.client().get("/api/v1/brands").status_code == 200
    assert public.get("/api/v1/brands").status_code == 200
    assert public.get("/api/v1/brands").status_code == 429  # the same token, on another host
    assert other.client().get("/api/v1/brands").status_code == 200


def second_token(agency: SignedUpAgency) -> str:
    answer = agency.client().post("/api/v1/tokens", {"name": "ETL", "scopes": ["read"]},
                                  content_type="application/json")
    assert answer.status_code == 201, answer.content
    return str(answer.json()["token"])


@pytest.mark.django_db
def test_an_agencys_tokens_share_its_rate(
    make_agency: Callable[..., SignedUpAgency], settings: Any
) -> None:
    settings.AGENCY_RATE_LIMIT = "3/minute"
    acme, other = make_agency("acme"), make_agency("other")
    etl = second_token(acme)  # the first of acme's three
    answers = [acme.client().get("/api/v1/brands"), acme.client(token=etl).get("/api/v1/brands"),
               acme.client(token=etl).get("/api/v1/brands")]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert "this agency may make 3 a minute" in answers[2].json()["message"]
    assert answers[2]["RateLimit-Limit"] == "1000"  # the headers stay the token's
    assert other.client().get("/api/v1/brands").status_code == 200


@pytest.mark.django_db
def test_requests_that_are_not_the_agencys_own_never_use_up_its_rate(
    make_agency: Callable[..., SignedUpAgency], settings: Any
) -> None:
    settings.AGENCY_RATE_LIMIT = "1/minute"
    acme, other = make_agency("acme"), make_agency("other")
    strangers = [Client(HTTP_HOST=acme.domain).get("/api/v1/brands"),
                 other.client(HTTP_HOST=acme.domain).get("/api/v1/brands"),
                 acme.client(token="bc0123456789_" + "0" * 64).get("/api/v1/brands")]
    assert [a.status_code for a in strangers] == [401, 401, 401]
    assert acme.client().get("/api/v1/brands").status_code == 200
    assert acme.client().get("/api/v1/brands").status_code == 429


@pytest.fixture
def redis_down(tmp_path: Path, settings: Any) -> Iterator[None]:
    port = free_port()
    process = start_redis(tmp_path, port)
    process.terminate()
    process.wait(timeout=10)
    settings.REDIS_URL = f"redis://127.0.0.1:{port}/0"
    ratelimit._breaker.down_until = 0.0
    yield
    ratelimit._breaker.down_until = 0.0


@pytest.mark.django_db
def test_with_redis_down_requests_are_served_and_health_says_so(
    agency: SignedUpAgency, settings: Any, redis_down: None
) -> None:
    settings.API_RATE_LIMIT = "1/minute"
    client = agency.client()
    answers = [client.get("/api/v1/brands") for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert not answers[0].has_header("RateLimit-Limit")
    health = Client().get("/healthz")
    assert health.status_code == 503 and health.json()["broker"] == "down"


@pytest.fixture
def committed_token(django_db_setup: None, django_db_blocker: Any) -> Iterator[tuple[str, str]]:
    """A committed agency's (host, token): gunicorn is another process."""
    import uuid

    from django.conf import settings

    from saas.db import connection
    from tests.conftest import make_tenant

    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        agency, token = make_tenant(f"throttle-{uuid.uuid4().hex[:8]}")
        try:
            yield f"{agency.slug}.{settings.BASE_DOMAIN}", token
        finally:
            connection.close()
            connection.set_schema_to_public()
            agency.delete(force_drop=True)


@pytest.mark.slow
def test_the_rate_is_shared_by_every_gunicorn_worker(committed_token: tuple[str, str]) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from tests.live import call, gunicorn

    host, token = committed_token
    with gunicorn(workers=3, env={"API_RATE_LIMIT": "6/minute"}, name="throttle") as port, \
            ThreadPoolExecutor(6) as pool:  # concurrent: every worker serves some of them
        answers = list(pool.map(lambda _: call(port, "GET", "/api/v1/brands", host=host,
                                               token=token), range(12)))

    served = [a for a in answers if a.status == 200]
    assert sorted(a.status for a in answers) == [200] * 6 + [429] * 6
    assert sorted(a.header("RateLimit-Remaining") or "" for a in served) == list("012345")

"""Under gunicorn, web connections give up waiting on a lock: a spend whose brand row another
transaction holds answers 503 with Retry-After and stores nothing, and other agencies are still
served meanwhile (before, both workers waited for the lock and every request timed out)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest
from django.conf import settings

from saas.db import connection
from tests.conftest import Api, make_tenant
from tests.live import call, gunicorn, served_database_url

pytestmark = pytest.mark.slow


@pytest.mark.django_db
def test_this_module_runs_on_the_test_database() -> None:
    assert connection.settings_dict["NAME"].startswith("test_")


@pytest.fixture
def bystander(committed_api: Api) -> Iterator[tuple[str, str, int]]:
    """Another committed agency with a campaign: (host, token, campaign id)."""
    connection.set_schema_to_public()
    agency, token = make_tenant(f"{committed_api.agency.slug}-b")
    try:
        with connection.cursor() as cursor:
            cursor.execute(f'INSERT INTO "{agency.schema_name}".campaigns_brand '
                           "(name, timezone, currency, created_at) "
                           "VALUES ('B', 'UTC', 'USD', now()) RETURNING id")
            (brand,) = cursor.fetchone()
            cursor.execute(f'INSERT INTO "{agency.schema_name}".campaigns_campaign '
                           "(brand_id, name, dayparting, manual_paused, status, pause_reasons, "
                           "created_at) VALUES (%s, 'C', false, false, 'active', '{}', now()) "
                           "RETURNING id", [brand])
            (campaign,) = cursor.fetchone()
        yield f"{agency.slug}.{settings.BASE_DOMAIN}", token, campaign
    finally:
        connection.set_schema_to_public()
        agency.delete(force_drop=True)


def hold_brand_lock(schema: str, brand_id: int) -> psycopg.Connection[Any]:
    """A transaction that keeps the brand's row locked, as a psql session would."""
    holder = psycopg.connect(served_database_url())
    holder.execute(f'SELECT 1 FROM "{schema}".campaigns_brand WHERE id = %s FOR UPDATE',
                   [brand_id])
    return holder


def spend_count(schema: str) -> int:
    with psycopg.connect(served_database_url(), autocommit=True) as reader:
        row = reader.execute(f'SELECT count(*) FROM "{schema}".campaigns_spend').fetchone()
        return int(row[0]) if row else 0


def test_a_spend_that_cannot_lock_its_brand_in_time_is_503_and_others_are_served(
    committed_api: Api, bystander: tuple[str, str, int],
) -> None:
    api = committed_api
    brand = api.brand()
    campaign = api.campaign(brand)
    host = f"{api.agency.slug}.{settings.BASE_DOMAIN}"
    other_host, other_token, other_campaign = bystander
    holder = hold_brand_lock(api.agency.schema_name, brand["id"])
    try:
        with gunicorn(workers=2, name="spend-timeouts") as port, ThreadPoolExecutor(3) as pool:
            started = time.monotonic()
            blocked = [pool.submit(call, port, "POST", "/api/v1/spend", host=host,
                                   token=api.token,
                                   body={"campaign": campaign["id"], "amount": "1.00"})
                       for _ in range(2)]
            time.sleep(0.3)  # both workers are now waiting on the lock
            served = call(port, "POST", "/api/v1/spend", host=other_host, token=other_token,
                          body={"campaign": other_campaign, "amount": "2.00"})
            served_after = time.monotonic() - started
            answers = [future.result() for future in blocked]
    finally:
        holder.rollback()
        holder.close()

    assert served.status == 201, served.body
    assert served_after < 10, f"another agency waited {served_after:.1f} s"
    for answer in answers:
        assert answer.status == 503, answer.body
        assert answer.body["error"] == "service_unavailable"
        assert int(answer.header("Retry-After") or 0) >= 1
    assert spend_count(api.agency.schema_name) == 0

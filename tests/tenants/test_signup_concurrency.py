"""Signups that really commit: concurrent requests for one slug, seen from other connections.

These tests leave pytest-django's per-test transaction: they commit through the real stack
and clean up after themselves (drop the schemas and rows they made).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.db import connections
from django.test import Client
from django_tenants.utils import schema_exists

from saas.db import connection
from tenants.models import Agency

SLUG = "race-agency"


@pytest.fixture
def committed(django_db_blocker: Any) -> Iterator[None]:
    """Database access outside the test transaction; drops what the test made afterwards."""
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        yield
        connection.set_schema_to_public()
        for agency in Agency.objects.filter(slug__startswith="race-"):
            agency.delete(force_drop=True)  # the schema, then the row; domains and tokens cascade
        assert not schema_exists(SLUG.replace("-", "_"))


def signup(results: list[int], barrier: threading.Barrier, number: int) -> None:
    try:
        barrier.wait()
        response = Client(HTTP_HOST=settings.BASE_DOMAIN).post(
            "/api/v1/signup",
            {"name": f"Racer {number}", "slug": SLUG, "email": f"racer{number}@example.com",
             "password": "correct-Horse-battery-9"},
            content_type="application/json",
        )
        results.append(response.status_code)
    finally:
        connections.close_all()


def test_concurrent_signups_for_one_slug_give_exactly_one_201(committed: None) -> None:
    racers = 4
    results: list[int] = []
    barrier = threading.Barrier(racers)
    threads = [threading.Thread(target=signup, args=(results, barrier, n)) for n in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(results) == [201] + [409] * (racers - 1)
    assert Agency.objects.filter(slug=SLUG).count() == 1
    assert schema_exists(SLUG.replace("-", "_"))
    agency = Agency.objects.get(slug=SLUG)
    assert agency.domains.count() == 1
    assert agency.tokens.count() == 1

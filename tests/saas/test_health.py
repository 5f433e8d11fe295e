"""`/healthz` with the broker really up and really stopped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from saas.embedded import free_port, start_redis


@pytest.fixture
def own_redis(tmp_path: Path, settings: Any) -> Iterator[object]:
    port = free_port()
    process = start_redis(tmp_path, port)
    settings.REDIS_URL = f"redis://127.0.0.1:{port}/0"
    yield process
    if process.poll() is None:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.django_db
def test_health_is_ok_when_database_and_broker_answer(
    public_client: Client, own_redis: object
) -> None:
    response = public_client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "ok"}


@pytest.mark.django_db
def test_health_is_503_naming_the_broker_when_redis_is_stopped(
    public_client: Client, own_redis: object
) -> None:
    own_redis.terminate()  # type: ignore[attr-defined]
    own_redis.wait(timeout=10)  # type: ignore[attr-defined]
    response = public_client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"database": "ok", "broker": "down"}


@pytest.mark.django_db
def test_health_answers_on_any_host() -> None:
    response = Client(HTTP_HOST="10.1.2.3").get("/healthz")
    assert response.status_code in (200, 503)
    assert set(response.json()) == {"database", "broker"}

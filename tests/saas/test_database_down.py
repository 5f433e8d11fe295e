"""With the database down the service says so: 503 with a JSON body (and Retry-After) under
/api/, a plain page elsewhere, and /healthz naming it; never a 500."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings

from saas.embedded import free_port
from tests.live import call, gunicorn

pytestmark = pytest.mark.slow
TOKEN = "bc0123456789_" + "0" * 64  # well formed; it cannot be looked up


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    nowhere = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
    with gunicorn(workers=1, env={"DATABASE_URL": nowhere}, name="database-down",
                  wait_healthy=False) as serving:
        yield serving


@pytest.mark.parametrize("method, path, body", [
    ("GET", "/api/v1/brands", None),
    ("POST", "/api/v1/spend", {"campaign": 1, "amount": "1.00"}),
    ("POST", "/api/v1/signup", {"name": "A", "slug": "abc", "email": "a@b.example",
                                "password": "correct-Horse-battery-9"}),
])
@pytest.mark.parametrize("host", [settings.BASE_DOMAIN, f"acme.{settings.BASE_DOMAIN}"])
def test_the_api_answers_503_json_while_the_database_is_down(
    port: int, method: str, path: str, body: object, host: str
) -> None:
    answer = call(port, method, path, host=host, token=TOKEN, body=body)

    assert answer.status == 503, answer.body
    assert answer.body["error"] == "service_unavailable"
    assert answer.body["message"]
    assert int(answer.header("Retry-After") or 0) >= 1
    assert answer.header("X-Content-Type-Options") == "nosniff"


def test_pages_answer_503_while_the_database_is_down(port: int) -> None:
    answer = call(port, "GET", "/login/", host=f"acme.{settings.BASE_DOMAIN}")

    assert answer.status == 503
    assert "unavailable" in answer.body


def test_health_names_the_database_and_carries_the_security_headers(port: int) -> None:
    answer = call(port, "GET", "/healthz", host="10.0.0.7")

    assert answer.status == 503
    assert answer.body["database"] == "down"
    assert answer.header("X-Content-Type-Options") == "nosniff"
    assert answer.header("Referrer-Policy") == "same-origin"

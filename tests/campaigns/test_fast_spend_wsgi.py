"""The WSGI entry point: spend offered to its fast path first, everything else to Django, and
each request ended as Django ends one (so these run on committed data, not in a transaction)."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.conf import settings
from django.db import connections
from django_tenants.utils import schema_context

from campaigns import ledger
from campaigns.models import Spend
from saas import wsgi
from saas.db import connection
from tests.campaigns.conftest import Api


@pytest.mark.django_db
def test_this_module_runs_on_the_test_database() -> None:
    """Its django_db mark makes pytest-django create the test database even when only this
    module runs: the committed agencies below must never land in a real one."""
    assert connection.settings_dict["NAME"].startswith("test_")


def host(api: Api) -> str:
    return f"{api.agency.slug}.{settings.BASE_DOMAIN}"



def wsgi_call(environ: dict[str, Any]) -> tuple[str, dict[str, str], Any]:
    answer: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        answer.update(status=status, headers=dict(headers))

    content = b"".join(wsgi.application(environ, start_response))
    return answer["status"], answer["headers"], json.loads(content) if content else None


def spend_environ(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    data = json.dumps(body).encode()
    return {
        "REQUEST_METHOD": "POST", "PATH_INFO": "/api/v1/spend", "QUERY_STRING": "",
        "SERVER_NAME": "testserver", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(data), "wsgi.errors": io.StringIO(),
        "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(data)),
        "HTTP_HOST": host(api), "HTTP_AUTHORIZATION": f"Bearer {api.token}",
    }


def test_the_entry_point_answers_spend_itself_and_hands_the_rest_to_django(
    committed_api: Api,
) -> None:
    api = committed_api
    campaign = api.campaign(api.brand())
    status, headers, body = wsgi_call(spend_environ(api, {"campaign": campaign["id"],
                                                          "amount": "1.50"}))
    assert status == "201 Created" and body["amount"] == "1.50"
    assert headers["Content-Type"] == "application/json"
    status, _, body = wsgi_call(spend_environ(api, {"campaign": campaign["id"], "amount": "x"}))
    assert status == "400 Bad Request" and "amount" in body["fields"]


def test_a_connection_the_server_dropped_is_replaced_and_the_spend_recorded(
    committed_api: Api,
) -> None:
    api = committed_api
    campaign = api.campaign(api.brand())
    wsgi_call(spend_environ(api, {"campaign": campaign["id"], "amount": "1"}))
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    kill_backend(pid)
    status, _, body = wsgi_call(spend_environ(api, {"campaign": campaign["id"], "amount": "2"}))
    assert status == "201 Created", body
    with schema_context(api.agency.schema_name):
        assert Spend.objects.count() == 2


def kill_backend(pid: int) -> None:
    """End a connection from the server's side, as a restart or an idle timeout does."""
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        other.close()


def test_an_error_inside_the_fast_path_is_a_json_500_and_stores_nothing(
    committed_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = committed_api
    campaign = api.campaign(api.brand())

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(ledger.status, "decide_brands", broken)
    status, headers, body = wsgi_call(spend_environ(api, {"campaign": campaign["id"],
                                                          "amount": "1"}))
    assert status == "500 Internal Server Error"
    assert body == {"error": "server_error", "message": "Internal server error."}
    assert "Allow" not in headers  # as ApiErrorMiddleware's 500
    with schema_context(api.agency.schema_name):
        assert Spend.objects.count() == 0


def test_a_table_altered_under_a_prepared_statement_is_answered_by_django(
    committed_api: Api,
) -> None:
    """A migration changing a column's type under a worker's prepared statement: PostgreSQL
    refuses the statement once ("cached plan must not change result type"); the fast path
    declines and Django records the spend."""
    api = committed_api
    campaign = api.campaign(api.brand())
    body = {"campaign": campaign["id"], "amount": "1"}
    for _ in range(2):
        status, _, _ = wsgi_call(spend_environ(api, body))
        assert status == "201 Created"
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute(f'ALTER TABLE "{api.agency.schema_name}".campaigns_brand '
                           "ALTER COLUMN timezone TYPE varchar(80)")
    finally:
        other.close()
    status, _, body_out = wsgi_call(spend_environ(api, body))
    assert status == "201 Created", body_out
    with schema_context(api.agency.schema_name):
        assert Spend.objects.count() == 3

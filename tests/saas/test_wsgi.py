"""The WSGI entry point is Django's own: every request, spend included, goes through its request
cycle, and each request ends as Django ends one (so these run on committed data, as gunicorn
serves it)."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import connections
from django_tenants.utils import schema_context

from campaigns import ledger
from campaigns.models import Spend
from saas import wsgi
from saas.db import connection
from tests.conftest import Api


@pytest.mark.django_db
def test_this_module_runs_on_the_test_database() -> None:
    """Its django_db mark makes pytest-django create the test database even when only this
    module runs: the committed agencies below must never land in a real one."""
    assert connection.settings_dict["NAME"].startswith("test_")


def test_the_entry_point_is_djangos_handler() -> None:
    assert isinstance(wsgi.application, WSGIHandler)


def wsgi_call(environ: dict[str, Any], application: WSGIHandler = wsgi.application,
              ) -> tuple[str, dict[str, str], Any]:
    answer: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        answer.update(status=status, headers=dict(headers))

    result = application(environ, start_response)
    try:
        content = b"".join(result)
    finally:
        result.close()  # type: ignore[attr-defined]  # where Django sends request_finished
    return answer["status"], answer["headers"], json.loads(content) if content else None


def spend_environ(api: Api, body: dict[str, Any], host: str | None = None) -> dict[str, Any]:
    data = json.dumps(body).encode()
    return {
        "REQUEST_METHOD": "POST", "PATH_INFO": "/api/v1/spend", "QUERY_STRING": "",
        "SERVER_NAME": "testserver", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(data), "wsgi.errors": io.StringIO(),
        "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(data)),
        "HTTP_HOST": host or f"{api.agency.slug}.{settings.BASE_DOMAIN}",
        "HTTP_AUTHORIZATION": f"Bearer {api.token}",
    }


def ledger_rows(api: Api) -> int:
    with schema_context(api.agency.schema_name):
        return Spend.objects.count()


@pytest.fixture
def signals_seen() -> Iterator[list[str]]:
    seen: list[str] = []

    def started(**kwargs: Any) -> None:
        seen.append("started")

    def finished(**kwargs: Any) -> None:
        seen.append("finished")

    request_started.connect(started)
    request_finished.connect(finished)
    yield seen
    request_started.disconnect(started)
    request_finished.disconnect(finished)


@pytest.mark.parametrize("on_public_host", [False, True])
def test_a_spend_is_answered_by_django_with_its_headers_and_request_signals(
    committed_api: Api, signals_seen: list[str], on_public_host: bool
) -> None:
    api = committed_api
    campaign = api.campaign(api.brand())
    signals_seen.clear()
    host = settings.BASE_DOMAIN if on_public_host else None
    status, headers, body = wsgi_call(spend_environ(api, {"campaign": campaign["id"],
                                                          "amount": "1.50"}, host))
    assert status == "201 Created" and body["amount"] == "1.50"
    assert signals_seen == ["started", "finished"]
    assert headers["Content-Type"] == "application/json"
    assert headers["Content-Length"] == str(len(json.dumps(body, separators=(",", ":"))))
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == settings.SECURE_REFERRER_POLICY
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    status, _, body = wsgi_call(spend_environ(api, {"campaign": campaign["id"], "amount": "x"}))
    assert status == "400 Bad Request" and "amount" in body["fields"]
    assert ledger_rows(api) == 1


def test_a_referrer_policy_given_as_a_list_is_one_header(
    committed_api: Api, settings: Any
) -> None:
    """Django accepts SECURE_REFERRER_POLICY as a list; the spend's header is Django's (a copy
    of it once sent the list's repr, and gunicorn failed every spend after storing it)."""
    settings.SECURE_REFERRER_POLICY = ["same-origin", "strict-origin"]
    api = committed_api
    campaign = api.campaign(api.brand())
    status, headers, _ = wsgi_call(spend_environ(api, {"campaign": campaign["id"], "amount": "1"}),
                                   WSGIHandler())  # the middleware reads settings when made
    assert status == "201 Created"
    assert headers["Referrer-Policy"] == "same-origin,strict-origin"


def test_a_connection_the_server_dropped_is_replaced_and_the_spend_recorded(
    committed_api: Api,
) -> None:
    """Django's connection health check (CONN_HEALTH_CHECKS) at the request's first query."""
    api = committed_api
    campaign = api.campaign(api.brand())
    wsgi_call(spend_environ(api, {"campaign": campaign["id"], "amount": "1"}))
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    kill_backend(pid)
    status, _, body = wsgi_call(spend_environ(api, {"campaign": campaign["id"], "amount": "2"}))
    assert status == "201 Created", body
    assert ledger_rows(api) == 2


def test_a_healthy_connection_is_kept_without_a_statement_to_check_it(
    committed_api: Api, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The health check reads the idle socket instead of sending `SELECT 1`: the same backend
    serves the next request, and checking it opened no cursor."""
    api = committed_api
    campaign = api.campaign(api.brand())
    wsgi_call(spend_environ(api, {"campaign": campaign["id"], "amount": "1"}))
    pid = connection.connection.info.backend_pid

    def no_cursor(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the health check sent a statement")

    with monkeypatch.context() as patched:
        patched.setattr(type(connection.connection), "cursor", no_cursor)
        assert connection.is_usable()
    status, _, body = wsgi_call(spend_environ(api, {"campaign": campaign["id"], "amount": "2"}))
    assert status == "201 Created", body
    assert connection.connection.info.backend_pid == pid


def kill_backend(pid: int) -> None:
    """End a connection from the server's side, as a restart or an idle timeout does, and wait
    until the backend has gone (it says so on the socket before it exits)."""
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
            for _ in range(500):
                cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
                if cursor.fetchone() == (0,):
                    return
                time.sleep(0.01)
            raise AssertionError(f"backend {pid} still there after 5 s")
    finally:
        other.close()


def alter_column(sql: str) -> None:
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute(sql)
    finally:
        other.close()


def test_a_table_altered_under_a_prepared_statement_does_not_fail_the_spend(
    committed_api: Api,
) -> None:
    """A migration changing a column's type under a worker's prepared statements: PostgreSQL
    refuses each of them from then on ("cached plan must not change result type"), outside the
    spend's transaction (the host and token lookup) and inside it (the brand lock)."""
    api = committed_api
    campaign = api.campaign(api.brand())
    body = {"campaign": campaign["id"], "amount": "1"}
    for _ in range(2):
        status, _, _ = wsgi_call(spend_environ(api, body))
        assert status == "201 Created"
    alter_column("ALTER TABLE public.tenants_agency ALTER COLUMN name TYPE text")
    try:
        status, _, answer = wsgi_call(spend_environ(api, body))
    finally:
        alter_column("ALTER TABLE public.tenants_agency ALTER COLUMN name TYPE varchar(200)")
    assert status == "201 Created", answer
    alter_column(f'ALTER TABLE "{api.agency.schema_name}".campaigns_brand '
                 "ALTER COLUMN timezone TYPE varchar(80)")
    status, _, answer = wsgi_call(spend_environ(api, body))
    assert status == "201 Created", answer
    assert ledger_rows(api) == 4


def test_an_error_inside_a_spend_is_a_json_500_and_stores_nothing(
    committed_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = committed_api
    campaign = api.campaign(api.brand())

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(ledger.status, "decide_brands", broken)
    status, _, body = wsgi_call(spend_environ(api, {"campaign": campaign["id"], "amount": "1"}))
    assert status == "500 Internal Server Error"
    assert body == {"error": "server_error", "message": "Internal server error."}
    assert ledger_rows(api) == 0


def test_a_chunked_body_is_a_411_not_read_as_empty(committed_api: Api) -> None:
    """A WSGI server dechunks the body and sends no Content-Length, by which Django reads it:
    the spend would be read as empty (a 400 naming every field). It is refused as such."""
    api = committed_api
    body = json.dumps({"campaign": api.campaign(api.brand())["id"], "amount": "1.00"}).encode()
    environ = {**spend_environ(api, {}), "wsgi.input": io.BytesIO(body),
               "HTTP_TRANSFER_ENCODING": "chunked"}
    del environ["CONTENT_LENGTH"]

    status, headers, answer = wsgi_call(environ)

    assert status.startswith("411")
    assert answer["error"] == "length_required" and "Content-Length" in answer["message"]
    assert "no-store" in headers["Cache-Control"]
    assert ledger_rows(api) == 0

"""One delivery attempt: to the address that was checked and no other, no redirects, one
deadline for the whole attempt, a capped read of the answer, and never an exception."""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import trustme

from notifications import sender, ssrf
from notifications.sender import RESPONSE_READ_LIMIT, parse_retry_after, send
from tests.notifications.conftest import (
    PUBLIC_V4,
    FakeResolver,
    LocalServer,
    _handler_for,
    answer_with,
    serve,
)

BODY = b'{"id": 1, "type": "webhook.test", "data": {"webhook": 3}}'
HEADERS = {"webhook-id": "1", "content-type": "application/json"}


def test_a_2xx_answer_is_delivered_with_the_body_and_headers_as_given(
    local_server: LocalServer,
) -> None:
    result = send(local_server.url(), BODY, HEADERS, allow_private=True)

    assert result.delivered
    assert (result.status_code, result.error, result.retry_after) == (204, None, None)
    assert 0 <= result.duration_ms < 5000
    [received] = local_server.received
    assert (received.path, received.body) == ("/hook", BODY)
    assert received.headers["webhook-id"] == "1"
    assert received.headers["content-type"] == "application/json"
    assert received.headers["host"] == f"127.0.0.1:{local_server.port}"


@pytest.mark.parametrize("status", [400, 404, 410, 500])
def test_any_other_answer_is_a_failure_naming_the_status(
    status: int, local_server: LocalServer
) -> None:
    local_server.answer = answer_with(status)

    result = send(local_server.url(), BODY, HEADERS, allow_private=True)

    assert not result.delivered
    assert result.status_code == status
    assert result.error is not None and result.error.startswith(f"HTTP {status}")


def test_a_name_resolving_to_loopback_is_refused_at_send_time(local_server: LocalServer) -> None:
    result = send(local_server.url("localhost", scheme="https"), BODY, HEADERS, allow_private=False)

    assert result.status_code is None
    assert result.error == "refused: the host localhost does not resolve to a public address"
    assert local_server.received == []


def test_plain_http_is_refused_at_send_time_outside_development(local_server: LocalServer) -> None:
    result = send(local_server.url(), BODY, HEADERS, allow_private=False)

    assert result.error is not None and "https://" in result.error
    assert local_server.received == []


def test_a_redirect_is_not_followed(local_server: LocalServer) -> None:
    local_server.answer = answer_with(302, {"location": "http://127.0.0.1:1/admin"})

    result = send(local_server.url(), BODY, HEADERS, allow_private=True)

    assert result.status_code == 302
    assert result.error == "HTTP 302: redirect to 'http://127.0.0.1:1/admin' not followed"
    assert len(local_server.received) == 1


def test_a_session_sends_its_attempts_over_one_connection_while_it_stays_open(
    local_server: LocalServer, resolver: FakeResolver
) -> None:
    local_server.keep_alive = True
    resolver.answers = {"hooks.example": ["127.0.0.1"]}
    url = local_server.url(host="hooks.example")
    with sender.Session(url, allow_private=True) as session:
        results = [session.send(BODY, HEADERS) for _ in range(3)]
    assert all(result.delivered for result in results)
    assert len({r.peer_port for r in local_server.received}) == 1  # one connection
    assert resolver.lookups == ["hooks.example"]  # resolved and checked once for the batch


def test_a_session_reconnects_to_the_checked_address_when_the_server_closes(
    local_server: LocalServer, resolver: FakeResolver
) -> None:
    resolver.answers = {"hooks.example": ["127.0.0.1"]}  # HTTP/1.0: closed after each answer
    with sender.Session(local_server.url(host="hooks.example"), allow_private=True) as session:
        assert session.send(BODY, HEADERS).delivered
        resolver.answers = {"hooks.example": ["10.0.0.1"]}  # rebinding changes nothing
        assert session.send(BODY, HEADERS).delivered
    assert len({r.peer_port for r in local_server.received}) == 2
    assert resolver.lookups == ["hooks.example"]


def test_each_attempt_of_a_session_has_its_own_deadline(local_server: LocalServer) -> None:
    local_server.keep_alive = True
    calls: list[int] = []

    def slow_second(handler: BaseHTTPRequestHandler) -> None:
        calls.append(1)
        if len(calls) == 2:
            time.sleep(1.0)
        answer_with(204)(handler)

    local_server.answer = slow_second
    with sender.Session(local_server.url(), allow_private=True, timeout=0.6) as session:
        first = session.send(BODY, HEADERS)
        time.sleep(0.7)  # past the first attempt's deadline: the second has its own
        second = session.send(BODY, HEADERS)
        third = session.send(BODY, HEADERS)
    assert first.delivered and third.delivered
    assert second.error == "timed out after 0.6 s"


def test_a_slow_server_times_out(local_server: LocalServer) -> None:
    def slow(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(2)
        answer_with(204)(handler)

    local_server.answer = slow

    result = send(local_server.url(), BODY, HEADERS, allow_private=True, timeout=0.5)

    assert result.status_code is None
    assert result.error == "timed out after 0.5 s"
    assert 400 <= result.duration_ms < 1500


def test_a_server_dripping_bytes_cannot_stretch_the_attempt_past_its_deadline(
    local_server: LocalServer,
) -> None:
    """Each byte comes well within any per-read timeout; only the attempt's deadline ends it."""

    def drip(handler: BaseHTTPRequestHandler) -> None:
        handler.wfile.write(b"HTTP/1.1 200 OK\r\nX-Drip: ")
        for _ in range(50):
            time.sleep(0.1)
            handler.wfile.write(b"a")

    local_server.answer = drip

    result = send(local_server.url(), BODY, HEADERS, allow_private=True, timeout=1.0)

    assert result.error == "timed out after 1 s"
    assert 900 <= result.duration_ms < 2500


def test_only_the_start_of_a_huge_answer_is_read(local_server: LocalServer) -> None:
    written = []

    def huge(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("content-length", str(1024**3))
        handler.end_headers()
        chunk = b"x" * 65536
        try:
            for _ in range(1024**3 // len(chunk)):
                handler.wfile.write(chunk)
                written.append(len(chunk))
        finally:
            written.append(-1)  # the client hung up

    local_server.answer = huge

    result = send(local_server.url(), BODY, HEADERS, allow_private=True, timeout=10)

    assert result.delivered
    assert result.duration_ms < 5000
    deadline = time.monotonic() + 5
    while -1 not in written and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sum(n for n in written if n > 0) < 100 * RESPONSE_READ_LIMIT  # not a gigabyte


def test_a_refused_connection_is_an_error_not_an_exception() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]

    result = send(f"http://127.0.0.1:{port}/", BODY, HEADERS, allow_private=True)

    assert result.status_code is None
    assert result.error is not None and result.error.startswith("ConnectError")


def test_a_malformed_url_is_an_error_not_an_exception() -> None:
    result = send("https://[::1/", BODY, HEADERS, allow_private=True)

    assert result.error is not None and result.error.startswith("refused: not a valid URL")


# --- the connection goes to the address that was checked ---------------------------------


@pytest.fixture
def no_other_lookups(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The system resolver answers numeric addresses only and notes any name it is asked."""
    real = socket.getaddrinfo
    asked: list[object] = []

    def numeric_only(
        host: str | bytes | None,
        port: str | int | None,
        family: int = 0,
        type: int = 0,
        proto: int = 0,
        flags: int = 0,
    ) -> list[Any]:
        try:
            return real(host, port, family, type, proto, flags | socket.AI_NUMERICHOST)
        except socket.gaierror:
            asked.append(host)
            raise

    monkeypatch.setattr(socket, "getaddrinfo", numeric_only)
    return asked


def test_the_connection_goes_to_the_resolved_address_keeping_the_host_name(
    local_server: LocalServer, resolver: FakeResolver, no_other_lookups: list[object]
) -> None:
    resolver.answers["hooks.example"] = ["127.0.0.1"]

    result = send(local_server.url("hooks.example"), BODY, HEADERS, allow_private=True)

    assert result.delivered, result.error
    assert resolver.lookups == ["hooks.example"]  # once
    assert no_other_lookups == []  # and nobody else looked the name up again
    assert local_server.received[0].headers["host"] == f"hooks.example:{local_server.port}"


def test_the_next_address_is_tried_when_the_first_refuses(
    local_server: LocalServer, resolver: FakeResolver
) -> None:
    resolver.answers["hooks.example"] = ["127.0.0.2", "127.0.0.1"]  # nothing listens on .2

    result = send(local_server.url("hooks.example"), BODY, HEADERS, allow_private=True)

    assert result.delivered, result.error


def test_a_name_rebound_to_an_inside_address_after_validation_is_refused_at_send_time(
    local_server: LocalServer, resolver: FakeResolver
) -> None:
    url = f"https://hooks.example:{local_server.port}/hook"
    resolver.answers["hooks.example"] = [PUBLIC_V4]
    assert ssrf.validate_url(url, allow_private=False) == url

    resolver.answers["hooks.example"] = ["127.0.0.1"]  # the attacker's DNS changes its answer
    result = send(url, BODY, HEADERS, allow_private=False)

    assert result.error is not None
    assert result.error.endswith("hooks.example does not resolve to a public address")
    assert local_server.received == []


def test_a_public_answer_is_connected_to_as_checked_not_looked_up_again(
    resolver: FakeResolver, no_other_lookups: list[object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A public address passes; the socket is opened to exactly that address."""
    resolver.answers["hooks.example"] = [PUBLIC_V4]
    connected: list[tuple[object, ...]] = []

    def record(address: tuple[object, ...], *args: object, **kwargs: object) -> socket.socket:
        connected.append(address)
        raise ConnectionRefusedError("not on this test machine")

    monkeypatch.setattr(socket, "create_connection", record)

    result = send("https://hooks.example/hook", BODY, HEADERS, allow_private=False)

    assert connected == [(PUBLIC_V4, 443)]
    assert result.error is not None and result.error.startswith("ConnectError")
    assert no_other_lookups == []


# --- TLS to a pinned address: SNI and the certificate stay the host name's ----------------


@pytest.fixture
def certificate_authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_server(certificate_authority: trustme.CA) -> Iterator[tuple[LocalServer, list[str]]]:
    server, server_names = LocalServer(), []
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate_authority.issue_cert("hooks.example").configure_cert(context)
    context.sni_callback = lambda _socket, name, _context: server_names.append(name)
    http_server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(server))
    http_server.socket = context.wrap_socket(http_server.socket, server_side=True)
    for running in serve(server, http_server):
        yield running, server_names


def client_context(certificate_authority: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    certificate_authority.configure_trust(context)
    return context


def test_tls_to_the_pinned_address_sends_the_host_name_and_checks_the_certificate_for_it(
    tls_server: tuple[LocalServer, list[str]],
    resolver: FakeResolver,
    certificate_authority: trustme.CA,
) -> None:
    server, server_names = tls_server
    resolver.answers["hooks.example"] = ["127.0.0.1"]

    result = send(
        server.url("hooks.example", scheme="https"),
        BODY,
        HEADERS,
        allow_private=True,
        ssl_context=client_context(certificate_authority),
    )

    assert result.delivered, result.error
    assert server_names == ["hooks.example"]
    assert server.received[0].headers["host"] == f"hooks.example:{server.port}"


def test_a_certificate_for_another_name_is_refused_though_the_address_is_the_same(
    tls_server: tuple[LocalServer, list[str]],
    resolver: FakeResolver,
    certificate_authority: trustme.CA,
) -> None:
    server, _ = tls_server
    resolver.answers["other.example"] = ["127.0.0.1"]

    result = send(
        server.url("other.example", scheme="https"),
        BODY,
        HEADERS,
        allow_private=True,
        ssl_context=client_context(certificate_authority),
    )

    assert result.status_code is None
    assert result.error is not None and "CERTIFICATE_VERIFY_FAILED" in result.error
    assert "other.example" in result.error
    assert server.received == []


def test_by_default_only_publicly_trusted_certificates_are_accepted(
    tls_server: tuple[LocalServer, list[str]], resolver: FakeResolver
) -> None:
    server, _ = tls_server
    resolver.answers["hooks.example"] = ["127.0.0.1"]

    result = send(server.url("hooks.example", scheme="https"), BODY, HEADERS, allow_private=True)

    assert result.error is not None and "CERTIFICATE_VERIFY_FAILED" in result.error
    assert sender.default_ssl_context().verify_mode == ssl.CERT_REQUIRED
    assert sender.default_ssl_context().check_hostname


# --- Retry-After ------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_seconds_of_a_429_or_503_come_back_with_the_result(
    status: int, local_server: LocalServer
) -> None:
    local_server.answer = answer_with(status, {"retry-after": "120"})

    result = send(local_server.url(), BODY, HEADERS, allow_private=True)

    assert (result.status_code, result.retry_after) == (status, timedelta(seconds=120))


def test_retry_after_as_an_http_date_is_a_delay_from_the_answer(local_server: LocalServer) -> None:
    later = datetime.now(UTC) + timedelta(minutes=10)
    local_server.answer = answer_with(503, {"retry-after": format_datetime(later, usegmt=True)})

    result = send(local_server.url(), BODY, HEADERS, allow_private=True)

    assert result.retry_after is not None
    assert timedelta(minutes=9) < result.retry_after <= timedelta(minutes=10)


def test_retry_after_on_other_statuses_is_ignored(local_server: LocalServer) -> None:
    local_server.answer = answer_with(500, {"retry-after": "120"})

    assert send(local_server.url(), BODY, HEADERS, allow_private=True).retry_after is None


@pytest.mark.parametrize(
    ("value", "delay"),
    [
        ("0", timedelta(0)),
        (" 30 ", timedelta(seconds=30)),
        ("Sun, 01 Mar 2026 12:05:00 GMT", timedelta(minutes=5)),
        ("Sunday, 01-Mar-26 12:05:00 GMT", timedelta(minutes=5)),
        ("Sun, 01 Mar 2026 11:00:00 GMT", timedelta(0)),  # already past
        ("99999999999999999999", timedelta(days=7)),
        ("soon", None),
        ("-5", None),
        ("1.5", None),
        ("", None),
    ],
)
def test_parse_retry_after(value: str, delay: timedelta | None) -> None:
    assert parse_retry_after(value, datetime(2026, 3, 1, 12, 0, tzinfo=UTC)) == delay

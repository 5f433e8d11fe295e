"""A local HTTP server to deliver to, and a stand-in resolver, so that no test reaches the
internet: names like `hooks.example` resolve to whatever a test says. Also an agency to work
in, the delivery machinery's clock, and WEBHOOK_ALLOW_PRIVATE for the local server."""

from __future__ import annotations

import contextlib
import ipaddress
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import pytest
from django_tenants.utils import schema_context

from audit.log import Actor
from notifications import ssrf

if TYPE_CHECKING:
    from tenants.models import Agency

PUBLIC_V4 = "93.184.216.34"
ACTOR = Actor.token(0, "tests")  # who the tests' changes to endpoints are recorded as
PUBLIC_V6 = "2606:2800:220:1:248:1893:25c8:1946"


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    peer_port: int = 0  # the client's port: the same for requests over one connection


Answer = Callable[[BaseHTTPRequestHandler], None]


def answer_with(status: int, headers: dict[str, str] | None = None) -> Answer:
    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.send_header("content-length", "0")
        handler.end_headers()

    return answer


@dataclass
class LocalServer:
    """An HTTP server on 127.0.0.1 that records each request and answers as `answer` says."""

    port: int = 0
    answer: Answer = field(default_factory=lambda: answer_with(204))
    received: list[Received] = field(default_factory=list)
    keep_alive: bool = False  # HTTP/1.1 connections kept open between requests

    def url(self, host: str = "127.0.0.1", path: str = "/hook", scheme: str = "http") -> str:
        return f"{scheme}://{host}:{self.port}{path}"


def _handler_for(server: LocalServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        @property  # type: ignore[override]
        def protocol_version(self) -> str:
            return "HTTP/1.1" if server.keep_alive else "HTTP/1.0"

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            server.received.append(
                Received("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body,
                         self.client_address[1])
            )
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                server.answer(self)  # the client may give up first, as it should

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


def serve(server: LocalServer, http_server: ThreadingHTTPServer) -> Iterator[LocalServer]:
    http_server.daemon_threads = True
    server.port = http_server.server_address[1]
    thread = threading.Thread(target=http_server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        http_server.shutdown()
        http_server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def local_server() -> Iterator[LocalServer]:
    server = LocalServer()
    yield from serve(server, ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(server)))


@dataclass
class FakeResolver:
    """What names resolve to, as a test says; every lookup is counted."""

    answers: dict[str, list[str]] = field(default_factory=dict)
    lookups: list[str] = field(default_factory=list)

    def __call__(self, host: str, port: int) -> list[ssrf.IPAddress]:
        self.lookups.append(host)
        if host not in self.answers:
            raise ssrf.UnsafeWebhookURL(f"the host {host} does not resolve to a public address")
        return [ipaddress.ip_address(address) for address in self.answers[host]]


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> FakeResolver:
    fake = FakeResolver()
    monkeypatch.setattr(ssrf, "resolve_host", fake)
    return fake


# --- Agencies with webhook endpoints -----------------------------------------------------------


@dataclass
class FakeClock:
    """The delivery machinery's clock, moved by the test: `clock.now += timedelta(...)`."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    # Anchored on the real time so that receivers' signature checks (which allow 5 minutes of
    # skew) still accept what is signed at its instants.
    return FakeClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def tenant(db: None) -> Iterator[Agency]:
    """An agency (inside the test's transaction) whose schema the connection is in."""
    from saas.db import connection
    from tests.conftest import make_tenant

    connection.set_schema_to_public()
    agency, _token = make_tenant("notify-test")
    with schema_context(agency.schema_name):
        yield agency
    connection.set_schema_to_public()


@pytest.fixture
def allow_private(settings: Any) -> None:
    """WEBHOOK_ALLOW_PRIVATE=1: the local servers of the tests are on 127.0.0.1."""
    settings.WEBHOOK_ALLOW_PRIVATE = True

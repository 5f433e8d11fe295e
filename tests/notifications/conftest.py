"""A local HTTP server to deliver to, and a stand-in resolver, so that no test reaches the
internet: names like `hooks.example` resolve to whatever a test says."""

from __future__ import annotations

import contextlib
import ipaddress
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from notifications import ssrf

PUBLIC_V4 = "93.184.216.34"
PUBLIC_V6 = "2606:2800:220:1:248:1893:25c8:1946"


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


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

    def url(self, host: str = "127.0.0.1", path: str = "/hook", scheme: str = "http") -> str:
        return f"{scheme}://{host}:{self.port}{path}"


def _handler_for(server: LocalServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            server.received.append(
                Received("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body)
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
            raise ssrf.UnsafeWebhookURL(f"the host {host} does not resolve (test resolver)")
        return [ipaddress.ip_address(address) for address in self.answers[host]]


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> FakeResolver:
    fake = FakeResolver()
    monkeypatch.setattr(ssrf, "resolve_host", fake)
    return fake

"""An httpx transport that connects only to addresses checked beforehand, within one deadline.

Resolving a name to check it and letting the HTTP client resolve it again to connect leaves a
DNS-rebinding window: the second answer may be 127.0.0.1. Here the sender resolves once
(`ssrf.resolve_destination`) and this transport connects to those very addresses. Only the TCP
connect changes: the URL, and so the `Host` header, the TLS server name (SNI) and the
certificate check, stay the original host name's, because httpcore takes them from the
request's origin, not from the address a socket is connected to.

Every read and write is also held to one deadline for the whole attempt: per-operation
timeouts alone let a server that drips a byte now and then keep a delivery open for ever.

Built only on public interfaces: `httpcore.NetworkBackend`/`NetworkStream`, `httpcore.
ConnectionPool(network_backend=...)` and `httpx.BaseTransport`.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import httpcore
import httpx

from notifications.ssrf import IPAddress

# From the most specific: the first match names the error.
_HTTPCORE_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
)


@contextmanager
def _as_httpx_errors() -> Iterator[None]:
    """httpx's own transport raises httpx exceptions; so does this one."""
    try:
        yield
    except Exception as error:
        for raised, mapped in _HTTPCORE_ERRORS:
            if isinstance(error, raised):
                raise mapped(str(error)) from error
        raise


class _Deadline:
    def __init__(self, at: float) -> None:
        self.at = at

    def clamp(self, timeout: float | None, expired: type[Exception]) -> float:
        """The operation's timeout, cut to what is left of the attempt."""
        left = self.at - time.monotonic()
        if left <= 0:
            raise expired("the attempt's deadline has passed")
        return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, deadline: _Deadline) -> None:
        self._inner = inner
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._deadline.clamp(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._deadline.clamp(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        timeout = self._deadline.clamp(timeout, httpcore.ConnectTimeout)
        tls = self._inner.start_tls(ssl_context, server_hostname, timeout)
        return _DeadlineStream(tls, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class PinnedBackend(httpcore.NetworkBackend):
    """Connects to the checked addresses of one host, in order, whatever name it is asked for."""

    def __init__(self, host: str, addresses: Sequence[IPAddress], deadline_at: float) -> None:
        self._host = host
        self._addresses = tuple(addresses)
        self._deadline = _Deadline(deadline_at)
        self._inner = httpcore.SyncBackend()

    def set_deadline(self, deadline_at: float) -> None:
        """The deadline of the next attempt, for its new or reused connection alike (every
        stream this backend made reads the same deadline)."""
        self._deadline.at = deadline_at

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        if host != self._host:  # only the checked host may be reached through these addresses
            raise httpcore.ConnectError(f"{host} is not the checked host {self._host}")
        failure: Exception = httpcore.ConnectError(f"no address to connect to for {host}")
        for address in self._addresses:
            try:
                stream = self._inner.connect_tcp(
                    str(address),
                    port,
                    self._deadline.clamp(timeout, httpcore.ConnectTimeout),
                    local_address,
                    socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                failure = error
                continue
            return _DeadlineStream(stream, self._deadline)
        raise failure

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise httpcore.UnsupportedProtocol("webhooks are never delivered over a Unix socket")


class _ResponseStream(httpx.SyncByteStream):
    def __init__(self, inner: Iterable[bytes]) -> None:
        self._inner = inner

    def __iter__(self) -> Iterator[bytes]:
        with _as_httpx_errors():
            yield from self._inner

    def close(self) -> None:
        close = getattr(self._inner, "close", None)
        if close is not None:
            close()


class PinnedTransport(httpx.BaseTransport):
    """One connection, through `PinnedBackend`, verified with `ssl_context`, never retried."""

    def __init__(self, backend: PinnedBackend, ssl_context: ssl.SSLContext) -> None:
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context, network_backend=backend, max_connections=1, retries=0
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.SyncByteStream)
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _as_httpx_errors():
            core_response = self._pool.handle_request(core_request)
        assert isinstance(core_response.stream, Iterable)
        return httpx.Response(
            status_code=core_response.status,
            headers=core_response.headers,
            stream=_ResponseStream(core_response.stream),
            extensions=core_response.extensions,
        )

    def close(self) -> None:
        self._pool.close()

"""One delivery attempt: a POST to a webhook URL, to the address that passed the policy.

`send` resolves the host once, checks every address (`ssrf`), and connects only to those
(`pinned`), so no second lookup can rebind the name to an internal address (a `Session` does
the same for a batch of attempts to one endpoint, over one connection kept open). It follows no
redirect (a 3xx is a failure: the policy checked this URL, not the one a server points to),
gives the whole attempt one deadline (15 s: connect, TLS, request and response), reads at most
64 KiB of the answer and throws it away. Whatever goes wrong on the network is an error text in
the result, never an exception: the caller records the attempt and schedules the next.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import lru_cache

import httpx

from notifications import ssrf
from notifications.pinned import PinnedBackend, PinnedTransport

TIMEOUT_SECONDS = 15.0
RESPONSE_READ_LIMIT = 64 * 1024
USER_AGENT = "budget-control-webhooks/1"
_ERROR_TEXT_LIMIT = 500
_RETRY_AFTER_STATUSES = frozenset({429, 503})
# Past the 5 days after which a failing endpoint is disabled a longer wait changes nothing.
MAX_RETRY_AFTER = timedelta(days=7)


@dataclass(frozen=True)
class SendResult:
    """What an attempt came to: `error` is None exactly when the endpoint answered 2xx."""

    status_code: int | None
    duration_ms: int
    error: str | None
    retry_after: timedelta | None = None

    @property
    def delivered(self) -> bool:
        return self.error is None


def send(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    allow_private: bool,
    timeout: float = TIMEOUT_SECONDS,
    ssl_context: ssl.SSLContext | None = None,
) -> SendResult:
    """POST `body` with `headers` to `url` once; see the module's docstring for the rules."""
    with Session(url, allow_private=allow_private, timeout=timeout,
                 ssl_context=ssl_context) as session:
        return session.send(body, headers)


class Session:
    """Attempts to one URL, one after the other, over one connection kept open between them.

    The host is resolved and every address checked when the first attempt is made; every
    attempt then goes over a connection to one of those addresses (a new one if the endpoint
    closed the last), so reusing it opens no rebinding window. Each attempt has its own
    deadline and its own result, exactly as `send` gives them. A batch of deliveries to one
    endpoint saves a TCP (and TLS) handshake per delivery, on both sides.
    """

    def __init__(self, url: str, *, allow_private: bool, timeout: float = TIMEOUT_SECONDS,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self._url = url
        self._allow_private = allow_private
        self._timeout = timeout
        self._ssl_context = ssl_context
        self._destination: ssrf.Destination | None = None
        self._backend: PinnedBackend | None = None
        self._client: httpx.Client | None = None

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def send(self, body: bytes, headers: Mapping[str, str]) -> SendResult:
        """POST `body` with `headers` once; see the module's docstring for the rules."""
        started = time.monotonic()
        try:
            response = self._post(body, headers, started + self._timeout)
        except ssrf.UnsafeWebhookURL as refused:
            return _failed(started, f"refused: {refused}")
        except httpx.TimeoutException:
            return _failed(started, f"timed out after {self._timeout:g} s")
        except httpx.HTTPError as error:
            return _failed(started, f"{type(error).__name__}: {error}")
        return SendResult(
            status_code=response.status_code,
            duration_ms=_elapsed_ms(started),
            error=_status_error(response),
            retry_after=_retry_after(response),
        )

    def _post(self, body: bytes, headers: Mapping[str, str], deadline_at: float
              ) -> httpx.Response:
        client, destination = self._connected(deadline_at)
        # The deadline bounds the attempt; this only keeps httpx from applying its 5 s default.
        per_operation = max(deadline_at - time.monotonic(), 0.001)
        with client.stream("POST", destination.url, content=body, headers=headers,
                           timeout=per_operation) as answer:
            _discard_body(answer)
        return answer

    def _connected(self, deadline_at: float) -> tuple[httpx.Client, ssrf.Destination]:
        if self._client is None or self._backend is None or self._destination is None:
            destination = ssrf.resolve_destination(self._url, self._allow_private)
            backend = PinnedBackend(destination.host, destination.addresses, deadline_at)
            transport = PinnedTransport(backend, self._ssl_context or default_ssl_context())
            self._client = httpx.Client(
                transport=transport,
                follow_redirects=False,
                trust_env=False,
                headers={"user-agent": USER_AGENT},
            )
            self._destination, self._backend = destination, backend
        else:
            self._backend.set_deadline(deadline_at)
        return self._client, self._destination


def _discard_body(response: httpx.Response) -> None:
    """Read up to RESPONSE_READ_LIMIT raw bytes of the answer, so the attempt ends cleanly."""
    read = 0
    for chunk in response.iter_raw():
        read += len(chunk)
        if read >= RESPONSE_READ_LIMIT:
            break


@lru_cache(maxsize=1)
def default_ssl_context() -> ssl.SSLContext:
    """httpx's verifying context (certifi's CAs, host name checked), built once per process."""
    return httpx.create_ssl_context(trust_env=False)


def _status_error(response: httpx.Response) -> str | None:
    if response.is_success:
        return None
    if response.is_redirect:
        location = response.headers.get("location", "")[:200]
        return f"HTTP {response.status_code}: redirect to {location!r} not followed"
    return f"HTTP {response.status_code} {response.reason_phrase}".rstrip()


def _retry_after(response: httpx.Response) -> timedelta | None:
    value = response.headers.get("retry-after")
    if response.status_code not in _RETRY_AFTER_STATUSES or value is None:
        return None
    # The delivery edge: an HTTP-date is read against the moment the answer arrived.
    return parse_retry_after(value, datetime.now(UTC))


def parse_retry_after(value: str, at: datetime) -> timedelta | None:
    """`Retry-After` as a delay from `at` (delta-seconds or an HTTP-date, at most 7 days);
    None if unreadable."""
    text = value.strip()
    if text.isascii() and text.isdigit():
        seconds = int(text) if len(text) <= 9 else MAX_RETRY_AFTER.total_seconds()
        return min(timedelta(seconds=seconds), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000" and friends: HTTP-dates are always GMT
        when = when.replace(tzinfo=UTC)
    return min(max(when - at, timedelta(0)), MAX_RETRY_AFTER)


def _failed(started: float, error: str) -> SendResult:
    return SendResult(None, _elapsed_ms(started), error[:_ERROR_TEXT_LIMIT], None)


def _elapsed_ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)

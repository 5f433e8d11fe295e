"""`POST /api/v1/spend` answered before Django's request cycle: the hot path of ingestion.

Middleware, DRF's dispatch and a second tenant lookup cost more CPU than recording the spend
itself. So the WSGI entry point (`saas.wsgi`) offers every request here first, and only the
common case is answered: a JSON spend that parses, a live token of the host's own agency with
`spend:write`, a campaign of that agency, and an event not recorded before or its same-body
retry. It is recorded by the same `ledger.record_spend` as `SpendView`, and answered with the
same body and headers.

Anything else returns None before anything is written, and the request goes through Django
unchanged: every error is decided in one place, the view. The test clients run the API through
this path exactly as gunicorn does (`tests/conftest.py`).
"""

from __future__ import annotations

import io
import logging
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db import InterfaceError, NotSupportedError, OperationalError
from django.http.request import split_domain_port, validate_host
from django.utils import timezone
from django.utils.http import parse_header_parameters
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer

from campaigns import ledger
from campaigns.api.spend import InvalidEvent, SpendJSONParser, SpendView, parse_event
from saas import ratelimit
from saas.db import connection
from saas.errors import known_error_response, server_error_response
from saas.throttle import caller_key
from tenants import auth
from tenants.tokens import looks_like_token

logger = logging.getLogger(__name__)
PATH = "/api/v1/spend"
ACCEPTED = ("", "*/*", "application/json")  # anything else is negotiated by DRF

Answer = tuple[int, list[tuple[str, str]], bytes]


def answer(environ: dict[str, Any]) -> Answer | None:
    """The response to a common-case spend, or None: let Django answer it."""
    if not _is_plain_spend(environ):
        return None
    hostname, token, body = _hostname(environ), _bearer(environ), _body(environ)
    if hostname is None or token is None or body is None:
        return None
    now = timezone.now()
    try:
        event = parse_event(SpendJSONParser().parse(io.BytesIO(body)), now=now)
    except (exceptions.ParseError, InvalidEvent):
        return None
    quota = _LEASES.take(caller_key(environ), _rate())
    if quota is None or not quota.allowed:
        return None  # Redis down or past the rate: the middleware answers
    found = _token(hostname, token)
    if found is None or SpendView.write_scope not in found.scopes:
        return None
    connection.set_tenant(found.agency)
    try:
        recorded = ledger.record_spend(event, now=now)
    except (ledger.UnknownCampaign, ledger.EventConflict):
        return None  # rolled back: the view answers the 400 or the 409
    except NotSupportedError:
        # "cached plan must not change result type": a migration altered a table under a
        # prepared statement. Rolled back, and psycopg has dropped its prepared statements.
        return None
    auth.touch(found)
    content = JSONRenderer().render(recorded.body)
    headers = [("Allow", "POST, OPTIONS"), *_headers(environ, len(content)),
               ("RateLimit-Limit", str(quota.limit)),
               ("RateLimit-Remaining", str(quota.remaining)),
               ("RateLimit-Reset", str(quota.reset)),
               ("Cache-Control", "private, no-store"), ("Vary", "Authorization")]
    return (201 if recorded.created else 200), headers, content


_LEASES = ratelimit.Leases()


@lru_cache(maxsize=1)
def _rate() -> ratelimit.Rate:
    return ratelimit.Rate.parse(settings.API_RATE_LIMIT)


def error(environ: dict[str, Any], exc: Exception) -> Answer:
    """What `ApiErrorMiddleware` answers when the view raises `exc` (rolled back by then)."""
    known = known_error_response(exc)
    if known is None:
        logger.exception("Unhandled error on POST %s", PATH)
        known = server_error_response()
    extra = [("Retry-After", known["Retry-After"])] if known.has_header("Retry-After") else []
    return known.status_code, [*_headers(environ, len(known.content)), *extra], known.content


def _is_plain_spend(environ: dict[str, Any]) -> bool:
    """A POST of JSON to the exact path, wanting JSON, that no security setting redirects."""
    return (
        environ.get("REQUEST_METHOD") == "POST"
        and environ.get("PATH_INFO") == PATH
        and not environ.get("QUERY_STRING")
        and _is_utf8_json(environ.get("CONTENT_TYPE", ""))
        and environ.get("HTTP_ACCEPT", "") in ACCEPTED
        and not (settings.SECURE_SSL_REDIRECT and not _is_secure(environ))
    )


def _is_utf8_json(content_type: str) -> bool:
    """`application/json`, perhaps with `charset=utf-8`, read as DRF reads the header."""
    media_type, params = parse_header_parameters(content_type)
    return media_type == "application/json" and (
        not params or {k: v.lower() for k, v in params.items()} == {"charset": "utf-8"})


def _is_secure(environ: dict[str, Any]) -> bool:
    """As `HttpRequest.is_secure`, for the settings this service uses."""
    header = settings.SECURE_PROXY_SSL_HEADER
    if header:
        return bool(environ.get(header[0], "").split(",")[0].strip() == header[1])
    return bool(environ.get("wsgi.url_scheme") == "https")


def _hostname(environ: dict[str, Any]) -> str | None:
    """The host as django-tenants looks it up, only where Django would accept it."""
    if settings.USE_X_FORWARDED_HOST and "HTTP_X_FORWARDED_HOST" in environ:
        return None
    host = environ.get("HTTP_HOST", "")
    domain, _ = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return None
    hostname = host.split(":")[0].lower()
    return None if hostname.startswith("www.") else hostname


def _bearer(environ: dict[str, Any]) -> str | None:
    keyword, _, value = environ.get("HTTP_AUTHORIZATION", "").strip().partition(" ")
    value = value.strip()
    return value if keyword.lower() == "bearer" and looks_like_token(value) else None


def _body(environ: dict[str, Any]) -> bytes | None:
    """The body, read once and put back for Django in case this path declines."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE  # None: no limit
    if length <= 0 or (limit is not None and length > limit):
        return None
    body: bytes = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def _token(hostname: str, token: str) -> auth.FoundToken | None:
    """The first query of the request, read-only: a connection the server has dropped fails
    here, is closed, and Django answers on a new one."""
    try:
        return auth.token_on_host(hostname, token)
    except (InterfaceError, OperationalError):
        connection.close()
        return None


def _headers(environ: dict[str, Any], length: int) -> list[tuple[str, str]]:
    """What every API response carries after the security middleware."""
    headers = [
        ("Content-Type", "application/json"),
        ("X-Frame-Options", settings.X_FRAME_OPTIONS),
        ("Content-Length", str(length)),
    ]
    if settings.SECURE_HSTS_SECONDS and _is_secure(environ):
        hsts = f"max-age={settings.SECURE_HSTS_SECONDS}"
        if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
            hsts += "; includeSubDomains"
        if settings.SECURE_HSTS_PRELOAD:
            hsts += "; preload"
        headers.append(("Strict-Transport-Security", hsts))
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append(("X-Content-Type-Options", "nosniff"))
    if settings.SECURE_REFERRER_POLICY:
        headers.append(("Referrer-Policy", settings.SECURE_REFERRER_POLICY))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers.append(("Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY))
    return headers

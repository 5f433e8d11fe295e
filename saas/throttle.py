"""Per-token request rate of the API (`API_RATE_LIMIT`, default 1,000 a second), shared by every
web process through Redis (`saas.ratelimit`).

Placed before anything that reads the database, so a caller past its rate costs the service one
Redis call and nothing is stored. The key is the token's hash (the same one the token is looked up
by): a token's rate is its own whichever host it calls; requests without a bearer token count per
client address. Every API response carries `RateLimit-Limit`, `RateLimit-Remaining` and
`RateLimit-Reset`; past the rate, 429 with `Retry-After`. Redis down: requests are served
without the headers (the limit fails open) and `/healthz` says the broker is down.

`AGENCY_RATE_LIMIT` (default 3,000 a second) caps an agency's tokens together, once the tenant
is known: one agency's many tokens cannot crowd out the others.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from saas import ratelimit
from saas.clients import address_group, address_in
from saas.errors import error_response
from tenants.tokens import hash_secret, looks_like_token


def caller_key(meta: Mapping[str, Any]) -> str:
    """Whose quota a request (its META, or a WSGI environ) counts against."""
    keyword, _, value = str(meta.get("HTTP_AUTHORIZATION", "")).strip().partition(" ")
    token = value.strip()
    if keyword.lower() == "bearer" and looks_like_token(token):
        return f"api:token:{hash_secret(token)}"
    return f"api:address:{address_group(address_in(meta))}"


def agency_key(request: HttpRequest) -> str | None:
    """The agency whose own live token authenticates the request, else None (a request that
    is not the agency's own must never use up its quota)."""
    tenancy = getattr(request, "tenancy", None)
    if tenancy is None or tenancy.token is None:
        return None
    if tenancy.token.agency.pk != tenancy.agency.pk:
        return None
    return f"api:agency:{tenancy.agency.schema_name}"


class TokenRateLimitMiddleware:
    """`API_RATE_LIMIT` per token (per client address without one), before the database."""

    setting = "API_RATE_LIMIT"
    whose = "this token"
    sets_headers = True

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.rate = ratelimit.Rate.parse(getattr(settings, self.setting))
        self.leases = ratelimit.Leases()

    def key(self, request: HttpRequest) -> str | None:
        return caller_key(request.META)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = self.key(request) if request.path.startswith("/api/") else None
        if key is None:
            return self.get_response(request)
        # The rate is part of the key: a quota stored under another rate (a changed setting,
        # a test's) never carries over into this one.
        quota = self.leases.take(f"{key}:{self.rate.count}/{self.rate.period}", self.rate)
        if quota is not None and not quota.allowed:
            response = error_response(ratelimit.RateLimited(
                quota, f"Too many requests: {self.whose} may make {self.rate.count} a "
                       f"{_period_name(self.rate.period)}. Try again in {quota.retry_after} s."))
        else:
            response = self.get_response(request)
        if quota is not None and self.sets_headers:
            response["RateLimit-Limit"] = str(quota.limit)
            response["RateLimit-Remaining"] = str(quota.remaining)
            response["RateLimit-Reset"] = str(quota.reset)
        return response


class AgencyRateLimitMiddleware(TokenRateLimitMiddleware):
    """`AGENCY_RATE_LIMIT` per agency over all its tokens, after the tenant lookup: an agency
    cannot take more of the shared service by making more tokens. Only the agency's own
    authenticated requests count (anyone may send requests to its host)."""

    setting = "AGENCY_RATE_LIMIT"
    whose = "this agency"
    sets_headers = False  # the headers are the token's; a refusal here says why

    def key(self, request: HttpRequest) -> str | None:
        return agency_key(request)


def _period_name(seconds: int) -> str:
    return next(name for name, length in ratelimit.PERIODS.items() if length == seconds)

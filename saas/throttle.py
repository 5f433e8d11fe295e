"""Per-token request rate of the API (`API_RATE_LIMIT`, default 1,000 a second), shared by every
web process through Redis (`saas.ratelimit`).

Placed before anything that reads the database, so a caller past its rate costs the service one
Redis call and nothing is stored. The key is the token's hash (the same one the token is looked up
by): a token's rate is its own whichever host it calls; requests without a bearer token count per
client address. Every API response carries `RateLimit-Limit`, `RateLimit-Remaining` and
`RateLimit-Reset`; past the rate, 429 with `Retry-After`. Redis down: requests are served
without the headers (the limit fails open) and `/healthz` says the broker is down.
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


class TokenRateLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.rate = ratelimit.Rate.parse(settings.API_RATE_LIMIT)
        self.leases = ratelimit.Leases()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith("/api/"):
            return self.get_response(request)
        quota = self.leases.take(caller_key(request.META), self.rate)
        if quota is not None and not quota.allowed:
            response = error_response(ratelimit.RateLimited(
                quota, f"Too many requests: this token may make {self.rate.count} a "
                       f"{_period_name(self.rate.period)}. Try again in {quota.retry_after} s."))
        else:
            response = self.get_response(request)
        if quota is not None:
            response["RateLimit-Limit"] = str(quota.limit)
            response["RateLimit-Remaining"] = str(quota.remaining)
            response["RateLimit-Reset"] = str(quota.reset)
        return response


def _period_name(seconds: int) -> str:
    return next(name for name, length in ratelimit.PERIODS.items() if length == seconds)

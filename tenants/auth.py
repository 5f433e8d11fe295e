"""Bearer-token authentication for the API, and the scope check.

The token alone names its agency. `TenantMiddleware` looks up the request's host and the token it
presents together, in one query (`tenancy_for`), before any view runs; on the public host the
request then runs in the token's agency. `authenticate` gives the API's verdict on that lookup,
for DRF's `TokenAuthentication` and for the spend view alike: the token, or a 401 saying why not.
Tokens are never cached: a revoked token fails on every worker at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from saas.db import compose, connection, table
from saas.errors import Forbidden, Unauthenticated
from tenants.models import Agency, ApiToken, Domain
from tenants.tokens import hash_secret, looks_like_token

LAST_USED_RESOLUTION = timedelta(minutes=1)
PUBLIC = settings.PUBLIC_SCHEMA_NAME
# Every API request runs it, so it is prepared; the tables are named with their schema, so it
# needs no `SET search_path` to public first. A request without a token binds NULL: no token row.
TENANCY_SQL = compose("""
SELECT h.id, h.schema_name, h.name, h.slug, h.created_at,
       t.id, t.name, t.scopes, t.last_used_at, a.id, a.schema_name, a.name, a.slug,
       a.created_at
FROM {domain} d
JOIN {agency} h ON h.id = d.tenant_id
LEFT JOIN ({token} t JOIN {agency} a ON a.id = t.agency_id)
    ON t.secret_hash = %s AND t.revoked_at IS NULL
WHERE d.domain = %s
""", domain=table(Domain, schema=PUBLIC), agency=table(Agency, schema=PUBLIC),
    token=table(ApiToken, schema=PUBLIC))


@dataclass(frozen=True)
class FoundToken:
    id: int
    name: str
    scopes: frozenset[str]
    last_used_at: datetime | None
    agency: Agency


@dataclass(frozen=True)
class Tenancy:
    """What the request's host and bearer token name."""

    host: Agency  # the host's agency: the public tenant on the public host
    token: FoundToken | None  # the live token the request presents, whichever agency's it is

    @property
    def agency(self) -> Agency:
        """The agency the request acts in: on the public host a live token names it."""
        if self.token is not None and self.host.schema_name == PUBLIC:
            return self.token.agency
        return self.host


def bearer_secret(request: HttpRequest) -> str | None:
    """The token of a well-formed `Authorization: Bearer <token>` header, else None."""
    keyword, _, value = request.META.get("HTTP_AUTHORIZATION", "").strip().partition(" ")
    value = value.strip()
    return value if keyword.lower() == "bearer" and looks_like_token(value) else None


def tenancy_for(hostname: str, secret: str | None) -> Tenancy | None:
    """The host's agency and the live token `secret` (if any): one query. None: no such host."""
    secret_hash = hash_secret(secret) if secret else None
    with connection.prepared_cursor() as cursor:
        cursor.execute(TENANCY_SQL, [secret_hash, hostname])
        row = cursor.fetchone()
    if row is None:
        return None
    host = _agency(*row[:5])
    token_id, token_name, scopes, last_used_at, *token_agency = row[5:]
    if token_id is None:
        return Tenancy(host, None)
    agency = host if token_agency[0] == host.pk else _agency(*token_agency)
    return Tenancy(host, FoundToken(token_id, token_name, frozenset(scopes), last_used_at,
                                    agency))


def _agency(agency_id: int, schema_name: str, name: str, slug: str,
            created_at: datetime) -> Agency:
    return Agency(id=agency_id, schema_name=schema_name, name=name, slug=slug,
                  created_at=created_at)


def authenticate(request: HttpRequest) -> FoundToken | None:
    """The request's token (None when it sends no Authorization header), as `TenantMiddleware`
    found it; a 401 when it is malformed, unknown, revoked or another agency's host's."""
    if not request.META.get("HTTP_AUTHORIZATION", "").strip():
        return None
    if bearer_secret(request) is None:
        raise Unauthenticated("Malformed Authorization header: use Bearer <token>.")
    tenancy: Tenancy = request.tenancy  # type: ignore[attr-defined]  # set by TenantMiddleware
    if tenancy.token is None:
        raise Unauthenticated("Invalid or revoked token.")
    if tenancy.agency.pk != tenancy.token.agency.pk:
        raise Unauthenticated("This token belongs to another agency's host.")
    touch(tenancy.token)
    return tenancy.token


def touch(token: FoundToken) -> None:
    """Record use at most once a minute, so reads do not each become a write."""
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.id).update(last_used_at=now)


def require_scope(token: FoundToken | None, scope: str) -> FoundToken:
    """The token, if it has `scope`: else 401 without a token, 403 with one."""
    if token is None:
        raise Unauthenticated(code="not_authenticated")
    if scope not in token.scopes:
        raise Forbidden(HasTokenScope.message)
    return token


@dataclass(frozen=True)
class TokenUser:
    """The principal of an API call: an agency acting through one of its tokens."""

    token_id: int
    agency: Agency
    scopes: frozenset[str]
    name: str = ""

    is_authenticated = True
    is_anonymous = False


class TokenAuthentication(BaseAuthentication):
    """DRF's view of `authenticate`."""

    def authenticate(self, request: Request) -> tuple[TokenUser, FoundToken] | None:
        token = authenticate(request._request)
        if token is None:
            return None
        return TokenUser(token.id, token.agency, token.scopes, token.name), token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


def required_scope(request: Request, view: Any) -> str:
    """`read` for every GET; a view may name its own write scope (spend ingestion does)."""
    if request.method in SAFE_METHODS:
        return "read"
    return getattr(view, "write_scope", "write")


class HasTokenScope(BasePermission):
    message = "This token's scopes do not allow this call."

    def has_permission(self, request: Request, view: Any) -> bool:
        token = request.auth if isinstance(request.user, TokenUser) else None
        require_scope(token, required_scope(request, view))
        return True

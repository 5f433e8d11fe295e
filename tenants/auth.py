"""Bearer-token authentication for the API, and the scope check.

The token alone names its agency: it is looked up in the public schema. On the public host the
request then switches the connection to that agency's schema; on an agency's host the token must
belong to that agency.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from saas.db import connection
from tenants.models import Agency, ApiToken
from tenants.tokens import hash_secret, looks_like_token

LAST_USED_RESOLUTION = timedelta(minutes=1)
TOKEN_SQL = """
SELECT t.id, t.name, t.scopes, t.last_used_at, a.id, a.schema_name, a.name, a.slug, a.created_at
FROM public.tenants_apitoken t JOIN public.tenants_agency a ON a.id = t.agency_id
WHERE t.secret_hash = %s AND t.revoked_at IS NULL
"""
# The same token, only where the host is its own agency's: the fast spend path's one lookup for
# both the tenant and the principal.
TOKEN_ON_HOST_SQL = """
SELECT t.id, t.name, t.scopes, t.last_used_at, a.id, a.schema_name, a.name, a.slug, a.created_at
FROM public.tenants_domain d
JOIN public.tenants_agency a ON a.id = d.tenant_id
JOIN public.tenants_apitoken t ON t.agency_id = a.id
WHERE d.domain = %s AND t.secret_hash = %s AND t.revoked_at IS NULL
"""


@dataclass(frozen=True)
class FoundToken:
    id: int
    name: str
    scopes: frozenset[str]
    last_used_at: datetime | None
    agency: Agency


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
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[TokenUser, FoundToken] | None:
        header = get_authorization_header(request).decode("latin-1").strip()
        if not header:
            return None
        keyword, _, value = header.partition(" ")
        if keyword.lower() != "bearer" or not looks_like_token(value.strip()):
            raise exceptions.AuthenticationFailed(
                "Malformed Authorization header: use Bearer <token>."
            )
        token = self._find(value.strip())
        self._check_host(request, token.agency)
        touch(token)
        if connection.schema_name != token.agency.schema_name:
            connection.set_tenant(token.agency)
        request._request.tenant = token.agency  # type: ignore[attr-defined]
        return TokenUser(token.id, token.agency, token.scopes, token.name), token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'

    @staticmethod
    def _find(plaintext: str) -> FoundToken:
        """One indexed query, never cached: a revoked token fails on every worker at once."""
        with connection.cursor() as cursor:
            cursor.execute(TOKEN_SQL, [hash_secret(plaintext)])
            row = cursor.fetchone()
        if row is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        return _found_token(row)

    @staticmethod
    def _check_host(request: Request, agency: Agency) -> None:
        host_tenant = getattr(request._request, "tenant", None)
        if host_tenant is None or host_tenant.schema_name == settings.PUBLIC_SCHEMA_NAME:
            return
        if host_tenant.pk != agency.pk:
            raise exceptions.AuthenticationFailed("This token belongs to another agency's host.")


def token_on_host(hostname: str, plaintext: str) -> FoundToken | None:
    """The live token `plaintext` if it belongs to the agency of `hostname`: one query."""
    with connection.prepared_cursor() as cursor:
        cursor.execute(TOKEN_ON_HOST_SQL, [hostname, hash_secret(plaintext)])
        row = cursor.fetchone()
    return None if row is None else _found_token(row)


def _found_token(row: tuple[Any, ...]) -> FoundToken:
    (token_id, token_name, scopes, last_used_at, agency_id, schema_name, name, slug,
     created_at) = row
    agency = Agency(id=agency_id, schema_name=schema_name, name=name, slug=slug,
                    created_at=created_at)
    return FoundToken(token_id, token_name, frozenset(scopes), last_used_at, agency)


def touch(token: FoundToken) -> None:
    """Record use at most once a minute, so reads do not each become a write."""
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.id).update(last_used_at=now)


def required_scope(request: Request, view: Any) -> str:
    """`read` for every GET; a view may name its own write scope (spend ingestion does)."""
    if request.method in SAFE_METHODS:
        return "read"
    return getattr(view, "write_scope", "write")


class HasTokenScope(BasePermission):
    message = "This token's scopes do not allow this call."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not isinstance(user, TokenUser):
            raise exceptions.NotAuthenticated(
                "Authentication required: Authorization: Bearer <token>."
            )
        return required_scope(request, view) in user.scopes

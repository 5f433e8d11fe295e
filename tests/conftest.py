"""Fixtures shared by every test: a real PostgreSQL test database (pytest-django creates it and
`migrate` builds the public schema, the public tenant and the tenant template), and clients
that speak to the public host or to an agency's host."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
from django.conf import settings
from django.core.handlers.wsgi import WSGIRequest
from django.http import HttpResponse
from django.test import Client
from django.test.client import ClientHandler

if TYPE_CHECKING:
    from tenants.models import Agency

if not os.environ.get("DATABASE_URL"):
    raise pytest.UsageError(
        "DATABASE_URL is not set: run the suite with `make test` (which starts embedded "
        "PostgreSQL and Redis), or set DATABASE_URL and REDIS_URL."
    )


@pytest.fixture(autouse=True)
def _connection_starts_in_public() -> Iterator[None]:
    """django-tenants keeps the last request's schema on the connection; tests start clean."""
    from saas.db import connection

    connection.set_schema_to_public()
    yield
    connection.set_schema_to_public()


class ServiceHandler(ClientHandler):
    """Django's test handler behind the entry point's spend fast path, as `saas.wsgi` serves
    requests under gunicorn: what the fast path declines, Django answers."""

    def __call__(self, environ: dict[str, Any]) -> HttpResponse:
        from campaigns.api import fast_spend

        answered = fast_spend.answer(environ)
        if answered is None:
            return super().__call__(environ)  # type: ignore[no-any-return]
        status, headers, content = answered
        response = HttpResponse(content, status=status)
        for name, value in headers:
            response[name] = value
        response.wsgi_request = WSGIRequest(environ)  # type: ignore[attr-defined]
        response.served_by_fast_path = True  # type: ignore[attr-defined]
        return response


class ServiceClient(Client):
    """A test client that serves requests as the deployed service does (`ServiceHandler`)."""

    def __init__(self, **defaults: Any) -> None:
        super().__init__(**defaults)
        self.handler = ServiceHandler(enforce_csrf_checks=False)


@pytest.fixture
def public_client() -> Client:
    return ServiceClient(HTTP_HOST=settings.BASE_DOMAIN)


# --- Agencies ------------------------------------------------------------------------------
# An agency made inside a `django_db` test lives in the test's transaction: its schema (cloned
# from the template by transactional DDL), rows and users all roll back with it.

AGENCY_PASSWORD = "correct-Horse-battery-9"


def tests_actor() -> Any:
    """Who the tests' own service calls act as, in the audit log."""
    from audit.log import Actor

    return Actor.user(type("TestsUser", (), {"pk": 0, "email": "tests@example.com"})())


@dataclass(frozen=True)
class SignedUpAgency:
    agency: Agency
    domain: str
    token: str  # plaintext of the signup token (all scopes)
    email: str
    password: str

    def client(self, token: str | None = None, **headers: Any) -> Client:
        """A client on this agency's host, sending `token` (default: the signup token)."""
        return agency_api_client(self.domain, self.token if token is None else token, **headers)


def agency_api_client(host: str, token: str | None, **headers: Any) -> Client:
    """A Client on `host` (overridable with HTTP_HOST=...) that sends `token` as Bearer."""
    if token:
        headers.setdefault("HTTP_AUTHORIZATION", f"Bearer {token}")
    headers.setdefault("HTTP_HOST", host)
    return ServiceClient(**headers)


@pytest.fixture
def make_agency(db: None, settings: Any) -> Callable[..., SignedUpAgency]:
    """`make_agency(slug="acme", name=..., email=..., password=...)`: sign up one more agency."""
    from tenants.services import create_agency

    # Hashing a password the production way takes ~0.2 s; the tests check who logs in, not that.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

    def make(
        slug: str = "acme",
        *,
        name: str | None = None,
        email: str | None = None,
        password: str = AGENCY_PASSWORD,
    ) -> SignedUpAgency:
        email = email or f"owner@{slug}.example"
        result = create_agency(name=name or slug.title(), slug=slug, email=email,
                               password=password)
        return SignedUpAgency(result.agency, result.domain, result.token, email, password)

    return make


@pytest.fixture
def agency(make_agency: Callable[..., SignedUpAgency]) -> SignedUpAgency:
    return make_agency("acme")


@pytest.fixture
def agency_client(agency: SignedUpAgency) -> Client:
    """A client on the agency's host, without a token (pages, admin)."""
    return ServiceClient(HTTP_HOST=agency.domain)


@pytest.fixture
def api_client(agency: SignedUpAgency) -> Client:
    """A client on the agency's host that sends its all-scopes token."""
    return agency.client()

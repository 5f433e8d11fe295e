"""Fixtures shared by every test: a real PostgreSQL test database (pytest-django creates it and
`migrate` builds the public schema, the public tenant and the tenant template), and clients
(Django's own test client) that speak to the public host or to an agency's host."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django_tenants.utils import schema_context

from saas.db import connection
from tenants.models import Agency, ApiToken, Domain
from tenants.tokens import generate_token

if not os.environ.get("DATABASE_URL"):
    raise pytest.UsageError(
        "DATABASE_URL is not set: run the suite with `make test` (which starts embedded "
        "PostgreSQL and Redis), or set DATABASE_URL and REDIS_URL."
    )


@pytest.fixture(autouse=True)
def _connection_starts_in_public() -> Iterator[None]:
    """django-tenants keeps the last request's schema on the connection; tests start clean."""
    connection.set_schema_to_public()
    yield
    connection.set_schema_to_public()


@pytest.fixture
def public_client() -> Client:
    return Client(HTTP_HOST=settings.BASE_DOMAIN)


# --- Agencies ------------------------------------------------------------------------------
# An agency made inside a `django_db` test lives in the test's transaction: its schema (cloned
# from the template by transactional DDL), rows and users all roll back with it.

AGENCY_PASSWORD = "correct-Horse-battery-9"


def actor_for_tests() -> Any:
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
    return Client(**headers)


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
    return Client(HTTP_HOST=agency.domain)


@pytest.fixture
def api_client(agency: SignedUpAgency) -> Client:
    """A client on the agency's host that sends its all-scopes token."""
    return agency.client()


# --- An agency made directly, with an all-scopes token, and a JSON client for its API -------

@dataclass
class Api:
    """JSON calls to one agency's API, as its token."""

    client: Client
    token: str
    agency: Agency

    def _headers(self) -> dict[str, str]:
        return {"HTTP_AUTHORIZATION": f"Bearer {self.token}"}

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(f"/api/v1/{path}", params, **self._headers())

    def post(self, path: str, body: Any = None) -> Any:
        return self.client.post(f"/api/v1/{path}", json.dumps(body or {}),
                                content_type="application/json", **self._headers())

    def patch(self, path: str, body: Any) -> Any:
        return self.client.patch(f"/api/v1/{path}", json.dumps(body),
                                 content_type="application/json", **self._headers())

    def put(self, path: str, body: Any) -> Any:
        return self.client.put(f"/api/v1/{path}", json.dumps(body),
                               content_type="application/json", **self._headers())

    def delete(self, path: str) -> Any:
        return self.client.delete(f"/api/v1/{path}", **self._headers())

    def ok(self, response: Any, status: int = 200) -> Any:
        assert response.status_code == status, response.content
        return response.json() if response.content else None

    def brand(self, **fields: Any) -> dict[str, Any]:
        fields.setdefault("name", "Brand")
        fields.setdefault("timezone", "UTC")
        return self.ok(self.post("brands", fields), 201)

    def campaign(self, brand: dict[str, Any], **fields: Any) -> dict[str, Any]:
        fields.setdefault("name", "Campaign")
        return self.ok(self.post("campaigns", {"brand": brand["id"], **fields}), 201)

    def spend(self, campaign: dict[str, Any], amount: str, **fields: Any) -> dict[str, Any]:
        return self.ok(self.post("spend", {"campaign": campaign["id"], "amount": amount,
                                           **fields}), 201)

    def status(self, campaign: dict[str, Any], at: str | None = None) -> dict[str, Any]:
        params = {"at": at} if at else {}
        return self.ok(self.get(f"campaigns/{campaign['id']}/status", **params))

    def run_jobs(self, now: str) -> None:
        call_command("run_jobs", now=now, tenant=self.agency.slug, stdout=_Null())


class _Null:
    def write(self, text: str) -> None:
        pass


def make_tenant(slug: str) -> tuple[Agency, str]:
    agency = Agency(schema_name=slug.replace("-", "_"), slug=slug, name=slug.title())
    agency.save()
    Domain.objects.create(domain=f"{slug}.{settings.BASE_DOMAIN}", tenant=agency)
    token = generate_token()
    ApiToken.objects.create(agency=agency, name="test", prefix=token.prefix,
                            secret_hash=token.secret_hash, scopes=["read", "write", "spend:write"])
    return agency, token.plaintext


@pytest.fixture
def api(db: None) -> Iterator[Api]:
    connection.set_schema_to_public()  # requests leave the connection in their tenant
    agency, token = make_tenant("engine-test")
    client = Client(HTTP_HOST=f"{agency.slug}.{settings.BASE_DOMAIN}")
    yield Api(client=client, token=token, agency=agency)
    connection.set_schema_to_public()


@pytest.fixture
def in_tenant(api: Api) -> Iterator[Agency]:
    with schema_context(api.agency.schema_name):
        yield api.agency


# --- Committed agencies, for threads --------------------------------------------------------
# The `api` agency lives inside the test's transaction, which no other connection can see.
# Tests that write from several threads (each with its own connection) need an agency that is
# really committed; it is dropped (schema CASCADE, with its domain and token rows) afterwards.


@pytest.fixture
def committed_api(django_db_setup: None, django_db_blocker: Any) -> Iterator[Api]:
    """An agency committed to the test database; the database stays open for the whole test,
    threads included. Give each thread its own client: `thread_api(committed_api)`.

    pytest-django creates the test database only for sessions with a `django_db` test, so a
    module using this fixture needs one (else this refuses to touch the real database)."""
    assert connection.settings_dict["NAME"].startswith("test_"), (
        "no test database was set up: add a django_db test to this module")
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        agency, token = make_tenant(f"committed-{uuid.uuid4().hex[:8]}")
        try:
            yield thread_api(Api(client=Client(), token=token, agency=agency))
        finally:
            connection.close()  # the main thread's requests left it in the agency's schema
            connection.set_schema_to_public()
            agency.delete(force_drop=True)


def thread_api(api: Api) -> Api:
    """The same agency and token behind a new Client: one per thread."""
    client = Client(HTTP_HOST=f"{api.agency.slug}.{settings.BASE_DOMAIN}")
    return Api(client=client, token=api.token, agency=api.agency)

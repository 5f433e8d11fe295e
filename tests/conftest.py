"""Fixtures shared by every test: a real PostgreSQL test database (pytest-django creates it and
`migrate` builds the public schema, the public tenant and the tenant template), and clients
that speak to the public host or to an agency's host."""

from __future__ import annotations

import os

import pytest
from django.conf import settings
from django.test import Client

if not os.environ.get("DATABASE_URL"):
    raise pytest.UsageError(
        "DATABASE_URL is not set: run the suite with `make test` (which starts embedded "
        "PostgreSQL and Redis), or set DATABASE_URL and REDIS_URL."
    )


@pytest.fixture
def public_client() -> Client:
    return Client(HTTP_HOST=settings.BASE_DOMAIN)

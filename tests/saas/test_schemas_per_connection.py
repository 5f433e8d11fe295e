"""A connection serves at most DATABASE_SCHEMAS_PER_CONNECTION agencies, then is replaced, so a
PostgreSQL backend's catalog caches stay bounded whatever the number of agencies."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connections

from campaigns.models import Brand
from tests.conftest import Api


def own_connection() -> Any:
    """A connection of its own to the test database, outside the test's transaction, as a web
    or Celery process has."""
    default = connections["default"]
    return type(default)(dict(default.settings_dict))


@pytest.fixture
def wrapper() -> Iterator[Any]:
    other = own_connection()
    other.ensure_connection()
    yield other
    other.close()


@pytest.mark.django_db
def test_the_connection_is_replaced_past_the_limit_only(wrapper: Any, settings: Any) -> None:
    settings.DATABASE_SCHEMAS_PER_CONNECTION = 3
    first = wrapper.connection
    for schema in ("agency_a", "agency_b", "agency_c", "agency_a", "public", "agency_b"):
        wrapper.set_schema(schema)
    assert wrapper.connection is first  # three agencies, one of them twice, and public
    wrapper.set_schema("agency_d")
    assert wrapper.connection is None  # closed; the next query opens a fresh one
    wrapper.ensure_connection()
    second = wrapper.connection
    for schema in ("agency_e", "agency_f"):
        wrapper.set_schema(schema)
    assert wrapper.connection is second  # counting starts again: d, e, f


@pytest.mark.django_db
def test_a_connection_in_a_transaction_is_kept(wrapper: Any, settings: Any) -> None:
    settings.DATABASE_SCHEMAS_PER_CONNECTION = 1
    first = wrapper.connection
    wrapper.set_schema("agency_a")
    with wrapper.cursor() as cursor:
        wrapper.set_autocommit(False)
        cursor.execute("SELECT 1")
        wrapper.set_schema("agency_b")
        assert wrapper.connection is first
        wrapper.rollback()
        wrapper.set_autocommit(True)
    wrapper.set_schema("agency_c")
    assert wrapper.connection is None


def test_queries_after_a_replacement_run_in_the_new_schema(committed_api: Api,
                                                          settings: Any) -> None:
    """The replacement happens before the search_path is set: the agency's query finds its
    tables on the new connection. (Not in the test's transaction: the agency is committed.)"""
    settings.DATABASE_SCHEMAS_PER_CONNECTION = 1
    api = committed_api
    other = own_connection()
    try:
        other.ensure_connection()
        first = other.connection
        other.set_schema("somebody_else")
        other.set_tenant(api.agency)
        with other.cursor() as cursor:
            cursor.execute(f'SELECT count(*) FROM "{Brand._meta.db_table}"')
            assert cursor.fetchone() == (0,)
        assert other.connection is not first
    finally:
        other.close()

"""`python manage.py migrate` takes an empty database to a working service; again, it changes
nothing. Run as the operator runs it: a subprocess with DATABASE_URL pointing at a new, empty
database on the test server."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from django.conf import settings
from psycopg import sql

from tenants import spares

ROOT = Path(__file__).resolve().parents[2]


def server_connection(dbname: str) -> psycopg.Connection[Any]:
    """A connection to `dbname` on the server the test database lives on."""
    params = settings.DATABASES["default"]
    return psycopg.connect(
        dbname=dbname,
        user=params.get("USER") or None,
        password=params.get("PASSWORD") or None,
        host=params.get("HOST") or None,
        port=params.get("PORT") or None,
        autocommit=True,
    )


@pytest.fixture
def empty_database() -> Iterator[str]:
    """The name of a new, empty database; dropped afterwards."""
    name = f"migrate_test_{secrets.token_hex(6)}"
    with server_connection("postgres") as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield name
    finally:
        with server_connection("postgres") as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def migrate(database: str) -> str:
    """`python manage.py migrate --noinput` against `database`, with production settings."""
    url = urlsplit(os.environ["DATABASE_URL"])._replace(path=f"/{database}").geturl()
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    env.update(DATABASE_URL=url, SECRET_KEY=secrets.token_urlsafe(50), DEBUG="0")
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def applied_migrations(database: str) -> dict[str, int]:
    """How many migrations each schema records as applied."""
    with server_connection(database) as conn:
        schemas = [row[0] for row in conn.execute(
            "SELECT table_schema FROM information_schema.tables "
            "WHERE table_name = 'django_migrations' ORDER BY table_schema"
        )]
        return {
            schema: conn.execute(
                sql.SQL("SELECT count(*) FROM {}.django_migrations").format(
                    sql.Identifier(schema))
            ).fetchone()[0]  # type: ignore[index]
            for schema in schemas
        }


def public_tenant_rows(database: str) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    with server_connection(database) as conn:
        agencies = conn.execute("SELECT schema_name FROM public.tenants_agency").fetchall()
        domains = conn.execute(
            "SELECT d.domain, d.is_primary, a.schema_name FROM public.tenants_domain d "
            "JOIN public.tenants_agency a ON a.id = d.tenant_id"
        ).fetchall()
    return agencies, domains


def test_migrate_builds_an_empty_database_and_a_second_run_changes_nothing(
    empty_database: str,
) -> None:
    migrate(empty_database)
    first = applied_migrations(empty_database)
    # The shared schema and the template new agencies are cloned from, both fully migrated,
    # and the template's spare copies (tenants.spares), ready for signups.
    template = settings.TENANT_BASE_SCHEMA
    spare_copies = {schema for schema in first if schema.startswith(spares.PREFIX)}
    assert set(first) == {"public", template} | spare_copies
    assert len(spare_copies) == settings.TENANT_SPARE_SCHEMAS
    assert all(first[spare] == first[template] for spare in spare_copies)
    assert all(count > 0 for count in first.values())
    public_tenant = ([("public",)], [(settings.BASE_DOMAIN, True, "public")])
    assert public_tenant_rows(empty_database) == public_tenant

    output = migrate(empty_database)

    assert "Applying" not in output
    assert applied_migrations(empty_database) == first
    assert public_tenant_rows(empty_database) == public_tenant

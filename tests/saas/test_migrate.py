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


# --- tenants.migration_executor: one plan, every agency's schema ---------------------------

SIGN_UP = """
from tenants.services import create_agency
for slug in {slugs!r}:
    create_agency(name=slug, slug=slug, email=f"owner@{{slug}}.test", password="correct-Horse-9z")
"""


def manage(database: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    url = urlsplit(os.environ["DATABASE_URL"])._replace(path=f"/{database}").geturl()
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    env.update(DATABASE_URL=url, SECRET_KEY=secrets.token_urlsafe(50), DEBUG="0",
               TENANT_SPARE_SCHEMAS="0")
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert not check or result.returncode == 0, result.stdout + result.stderr
    return result


def schema_shape(database: str, schema: str) -> tuple[list[Any], list[Any], list[Any]]:
    """What a schema has: its columns, its indexes, the migrations it records."""
    with server_connection(database) as conn:
        columns = conn.execute(
            "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns"
            " WHERE table_schema = %s ORDER BY 1, 2", [schema]).fetchall()
        indexes = conn.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = %s ORDER BY 1", [schema]
        ).fetchall()
        recorded = conn.execute(sql.SQL("SELECT app, name FROM {}.django_migrations ORDER BY 1, 2")
                                .format(sql.Identifier(schema))).fetchall()
    return columns, indexes, recorded


def permissions(database: str, schema: str) -> list[Any]:
    with server_connection(database) as conn:
        return conn.execute(sql.SQL(
            "SELECT t.app_label, p.codename FROM {}.auth_permission p JOIN {}.django_content_type"
            " t ON t.id = p.content_type_id ORDER BY 1, 2").format(
            sql.Identifier(schema), sql.Identifier(schema))).fetchall()


def test_migrate_applies_one_plan_per_group_of_agencies_and_leaves_them_like_the_template(
    empty_database: str,
) -> None:
    migrate(empty_database)
    slugs = ["behind-one", "behind-two", "also-one", "third-one", "current"]
    manage(empty_database, "shell", "-c", SIGN_UP.format(slugs=slugs))
    # Take agencies back to where an older release left them: two groups behind, one current.
    for schema in ("behind_one", "also_one", "third_one"):
        manage(empty_database, "migrate_schemas", "-s", schema, "campaigns", "0005", "--noinput")
    manage(empty_database, "migrate_schemas", "-s", "behind_two", "notifications", "0001",
           "--noinput")
    # Compared with an agency never taken back (clone_schema names some constraints unlike
    # the template's migrations do).
    current = schema_shape(empty_database, "current")
    assert schema_shape(empty_database, "behind_one") != current

    # And as if a run had stopped between a migration and its post_migrate signal.
    with server_connection(empty_database) as conn:
        conn.execute("DELETE FROM current.auth_permission WHERE content_type_id IN (SELECT id "
                     "FROM current.django_content_type WHERE app_label = 'notifications')")
    output = manage(empty_database, "migrate", "--noinput").stdout

    assert "content types and permissions restored in 1" in output
    assert permissions(empty_database, "current") == permissions(empty_database, "behind_one")
    assert "Applying to 3 schema(s): campaigns.0006_campaign_next_change_at" in output
    assert "Applying to 1 schema(s): notifications.0002_attempts_not_small" in output
    assert "1 schema(s) up to date" in output
    for schema in ("behind_one", "also_one", "third_one"):  # the last two in forked processes
        assert f"batch:{schema}] 1 applied" in output
    for schema in ("behind_one", "behind_two", "also_one", "third_one"):
        assert schema_shape(empty_database, schema) == current, schema


def test_migrate_stops_at_a_schema_whose_migration_fails_and_rolls_that_schema_back(
    empty_database: str,
) -> None:
    migrate(empty_database)
    manage(empty_database, "shell", "-c", SIGN_UP.format(slugs=["fine", "broken", "later"]))
    for schema in ("fine", "broken", "later"):  # broken and later: the forked processes
        manage(empty_database, "migrate_schemas", "-s", schema, "campaigns", "0005", "--noinput")
    with server_connection(empty_database) as conn:  # what 0006 adds is already there
        conn.execute("ALTER TABLE broken.campaigns_campaign ADD COLUMN next_change_at text")
    before = schema_shape(empty_database, "broken")

    result = manage(empty_database, "migrate", "--noinput", check=False)

    assert result.returncode != 0
    assert "migrating schema broken failed" in result.stderr
    assert "already exists" in result.stderr
    assert schema_shape(empty_database, "broken") == before  # the migration's DDL rolled back

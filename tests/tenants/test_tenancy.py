"""tenants.tenancy: the django-tenants internals the service relies on still do what it needs."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from saas.db import connection
from tenants.tenancy import check_schema_name, install_clone_schema_function


@pytest.mark.parametrize("name", ["acme", "acme_media_2", "a" * 63, "_tenant_template"])
def test_a_schema_name_postgresql_accepts_passes(name: str) -> None:
    check_schema_name(name)


@pytest.mark.parametrize("name", ["", "a" * 64, "pg_acme", 'ac"me', "ac'me", "ac;me", "ac\\me",
                                  "ac\nme", "ac\x00me"])
def test_a_schema_name_that_could_break_out_of_its_quotes_or_is_postgresqls_is_refused(
    name: str,
) -> None:
    with pytest.raises(ValidationError):
        check_schema_name(name)


@pytest.mark.django_db
def test_the_clone_function_copies_a_schemas_tables_and_rows() -> None:
    """Installed as signup calls it: `public.clone_schema(source, target, mode)`, text mode
    names as `Agency.create_schema` passes them."""
    install_clone_schema_function()
    with connection.cursor() as cursor:
        cursor.execute("CREATE SCHEMA tenancy_probe_source")
        cursor.execute("CREATE TABLE tenancy_probe_source.item (id serial PRIMARY KEY, name text)")
        cursor.execute("INSERT INTO tenancy_probe_source.item (name) VALUES ('kept')")
        cursor.execute("SELECT public.clone_schema(%s, %s, %s)",
                       ["tenancy_probe_source", "tenancy_probe_target", "DATA"])
        cursor.execute("SELECT name FROM tenancy_probe_target.item")
        assert cursor.fetchall() == [("kept",)]

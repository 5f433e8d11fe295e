"""django-tenants' PostgreSQL backend, accepting PostgreSQL 13, sparing a `SET search_path`
when the schema does not change, and offering prepared statements to the spend hot path.

Django 5.2 refuses servers older than 14 at connect time. The service promises PostgreSQL 13 or
newer, and nothing it or Django 5.2 runs needs a 14-only feature (no multirange, no
`JSON_*` functions below 16, which Django gates itself), so the floor is lowered to 13.
"""

from typing import Any

import psycopg
from django.db.backends.postgresql.features import DatabaseFeatures as PostgresFeatures
from django.db.backends.postgresql.psycopg_any import register_tzloader
from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantDatabaseWrapper
from psycopg.pq import Format

TIMESTAMPTZ_OID = psycopg.postgres.types["timestamptz"].oid


class DatabaseFeatures(PostgresFeatures):
    minimum_database_version = (13,)


class PreparedCursor(psycopg.Cursor[Any]):
    """Binds parameters on the server and prepares each statement on its first run, so the
    server parses and plans it once per connection.

    The statements name tables without a schema. Each is prepared once per agency (its text
    starts with a comment naming the schema): re-parsed under another search_path, one prepared
    statement would be planned again at every switch, and PostgreSQL refuses to run it at all
    where the two schemas' columns differ in type (during a migration)."""

    schema = ""

    def execute(self, query: Any, params: Any = None, *, prepare: bool | None = None,
                binary: bool | None = None) -> Any:
        return super().execute(f"/* {self.schema} */ {query}", params,
                               prepare=True if prepare is None else prepare, binary=binary)


class DatabaseWrapper(TenantDatabaseWrapper):
    features_class = DatabaseFeatures
    _prepared = False

    def prepared_cursor(self) -> Any:
        """A cursor for the few fixed statements every spend runs. Unprepared, planning them
        costs PostgreSQL two to four times what running them does (pgbench, simple against
        prepared). Django's other queries keep client-side binding: the ORM's SQL is not always
        preparable, and most of it does not repeat."""
        self._prepared = True
        try:
            return self.cursor()  # django-tenants sets the search_path here
        finally:
            self._prepared = False

    def create_cursor(self, name: str | None = None) -> Any:
        if not self._prepared or name:
            return super().create_cursor(name)
        cursor = PreparedCursor(self.connection)
        cursor.schema = self.schema_name  # a slug's characters: no comment can be closed early
        loader = self.connection.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
        if self.timezone != loader.timezone:  # as Django's create_cursor
            register_tzloader(self.timezone, cursor)
        return cursor

    def set_tenant(self, tenant: Any, include_public: bool = True) -> None:
        """django-tenants forgets the search_path it set on every switch, so each request pays a
        `SET search_path` even when a worker serves the same agency again. Keep it when the
        path is the same: the rollback hooks still forget it whenever the database may have."""
        previous: list[str] | None = getattr(self, "search_path_set_schemas", None)
        super().set_tenant(tenant, include_public)
        if previous is not None and previous == self._get_cursor_search_paths():
            self.search_path_set_schemas = previous

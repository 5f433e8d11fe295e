"""django-tenants' PostgreSQL backend, accepting PostgreSQL 13, and sparing a `SET search_path`
when the schema does not change.

Django 5.2 refuses servers older than 14 at connect time. The service promises PostgreSQL 13 or
newer, and nothing it or Django 5.2 runs needs a 14-only feature (no multirange, no
`JSON_*` functions below 16, which Django gates itself), so the floor is lowered to 13.
"""

from typing import Any

from django.db.backends.postgresql.features import DatabaseFeatures as PostgresFeatures
from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantDatabaseWrapper


class DatabaseFeatures(PostgresFeatures):
    minimum_database_version = (13,)


class DatabaseWrapper(TenantDatabaseWrapper):
    features_class = DatabaseFeatures

    def set_tenant(self, tenant: Any, include_public: bool = True) -> None:
        """django-tenants forgets the search_path it set on every switch, so each request pays a
        `SET search_path` even when a worker serves the same agency again. Keep it when the
        path is the same: the rollback hooks still forget it whenever the database may have."""
        previous: list[str] | None = getattr(self, "search_path_set_schemas", None)
        super().set_tenant(tenant, include_public)
        if previous is not None and previous == self._get_cursor_search_paths():
            self.search_path_set_schemas = previous

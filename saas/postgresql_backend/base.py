"""django-tenants' PostgreSQL backend, accepting PostgreSQL 13.

Django 5.2 refuses servers older than 14 at connect time. The service promises PostgreSQL 13 or
newer, and nothing it or Django 5.2 runs needs a 14-only feature (no multirange, no
`JSON_*` functions below 16, which Django gates itself), so the floor is lowered to 13.
"""

from django.db.backends.postgresql.features import DatabaseFeatures as PostgresFeatures
from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantDatabaseWrapper


class DatabaseFeatures(PostgresFeatures):
    minimum_database_version = (13,)


class DatabaseWrapper(TenantDatabaseWrapper):
    features_class = DatabaseFeatures

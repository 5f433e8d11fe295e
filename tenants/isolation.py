"""No write of an agency's rows may land in the public schema.

django-tenants puts an agency on `search_path` as `<agency>, public`. The apps that exist in both
(users, groups, sessions, the admin log, axes' attempts) have a table in `public` too, so where
an agency's schema lacks one of them (a schema that is not really a tenant's, or one being
migrated) an unqualified INSERT falls through to `public`: an agency's superuser written there
signs in to the platform operator's admin. Every save and delete of such a model, while an
agency is active, first checks that its table resolves inside the agency's own schema.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import DatabaseError
from django.db.models import Model
from django.db.models.signals import pre_delete, pre_save
from django.dispatch import receiver

from saas.db import connection

# (schema, table) pairs already seen in place: a table never moves out of a schema.
_CHECKED: set[tuple[str, str]] = set()
TABLE_SCHEMA_SQL = """
SELECT n.nspname FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = to_regclass(%s)
"""


class WrongSchema(DatabaseError):
    """A tenant's write would land in another schema's table."""


@lru_cache(maxsize=1)
def _labels_in_both() -> frozenset[str]:
    """Labels of the apps with a table in `public` and one in every agency schema."""
    both = set(settings.SHARED_APPS) & set(settings.TENANT_APPS)
    return frozenset(config.label for config in apps.get_app_configs() if config.name in both)


def ensure_own_table(model: type[Model]) -> None:
    """Raise unless `model`'s table, as the connection resolves it, is in the current agency's
    schema (nothing to check in the public schema itself)."""
    schema = connection.schema_name
    table = model._meta.db_table
    if schema == settings.PUBLIC_SCHEMA_NAME or (schema, table) in _CHECKED:
        return
    with connection.cursor() as cursor:
        cursor.execute(TABLE_SCHEMA_SQL, [table])
        row = cursor.fetchone()
    if row is None or row[0] != schema:
        found = row[0] if row else "no schema"
        raise WrongSchema(f"{table} resolves to {found}, not to the agency schema {schema}.")
    _CHECKED.add((schema, table))


@receiver(pre_save)
@receiver(pre_delete)
def refuse_writes_outside_the_agency(sender: type[Model], **kwargs: Any) -> None:
    if sender._meta.app_label in _labels_in_both():
        ensure_own_table(sender)

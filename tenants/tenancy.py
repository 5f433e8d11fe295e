"""The django-tenants internals this service relies on, in one place.

django-tenants offers no public function for either: its own signup path validates a schema name
with `_check_schema_name` and (re)installs its `clone_schema()` SQL function on every clone, which
`Agency.create_schema` avoids (`migrate` installs it once, `tenants.signals`). Nothing else may
import a private name of the library: `tests/tenants/test_tenancy.py` pins what these two
functions must do, and fails when an upgrade changes it.
"""

from __future__ import annotations

from django_tenants.clone import CloneSchema
from django_tenants.postgresql_backend.base import _check_schema_name


def check_schema_name(name: str) -> None:
    """ValidationError unless `name` may name a tenant's schema (django-tenants' own rule, the
    one its `schema_name` field validates with)."""
    _check_schema_name(name)


def install_clone_schema_function() -> None:
    """Create or replace django-tenants' `public.clone_schema(source, target, mode)` function."""
    CloneSchema()._create_clone_schema_function()

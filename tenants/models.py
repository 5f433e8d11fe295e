"""The agency registry, in the public schema: agencies, their host names and their API tokens."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import DatabaseError, models
from django_tenants.models import DomainMixin, TenantMixin
from django_tenants.utils import get_creation_fakes_migrations, schema_exists

from saas.db import connection
from tenants import spares
from tenants.tenancy import check_schema_name

SCOPES = ("read", "write", "spend:write")


class Agency(TenantMixin):
    """One agency: one PostgreSQL schema named after its slug."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=30, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    auto_create_schema = True
    auto_drop_schema = True

    class Meta:
        verbose_name_plural = "agencies"
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"

    @property
    def is_platform(self) -> bool:
        """The public tenant: the platform itself, owner of the public schema."""
        return bool(self.schema_name == settings.PUBLIC_SCHEMA_NAME)

    def delete(self, force_drop: bool = False, *args: Any, **kwargs: Any) -> Any:
        """Never the platform: deleting it would drop the public schema, every agency's
        registry and the operator's users with it."""
        if self.is_platform:
            raise PlatformTenant("The platform's own tenant cannot be deleted.")
        return super().delete(force_drop, *args, **kwargs)

    def create_schema(
        self, check_if_exists: bool = False, sync_schema: bool = True, verbosity: int = 1
    ) -> bool:
        """Clone the migrated template schema, with nothing else in the way.

        django-tenants' own path re-installs its `clone_schema()` SQL function (dropping and
        recreating a shared type, which makes concurrent signups contend) and then replays a fake
        `migrate` that has nothing to record: the clone already carries the template's
        `django_migrations`. `migrate` installs the function and keeps the template current
        (tenants.signals), so here one statement suffices; or none, when a spare cloned ahead
        of time is ready (tenants.spares): it is renamed. Without a template or the function
        (a database `migrate` has not prepared yet) the library's path runs instead.
        """
        template = self.get_base_schema() if get_creation_fakes_migrations() else False
        if not (sync_schema and template and _clone_function_installed()
                and schema_exists(template)):
            return bool(super().create_schema(check_if_exists, sync_schema, verbosity))
        if schema_exists(self.schema_name, case_sensitive=False):
            if check_if_exists:
                return False
            raise SchemaExists(self.schema_name)
        check_schema_name(self.schema_name)
        connection.set_schema_to_public()
        if spares.take(self.schema_name):  # cloned ahead of time
            return True
        with connection.cursor() as cursor:
            spares.share_template(cursor)  # not half-way through a migration of it
            cursor.execute(
                "SELECT public.clone_schema(%s, %s, %s)",
                [template, self.schema_name, self.clone_mode],
            )
            (code,) = cursor.fetchone()
        if code != 0:  # the function only raises a notice: without this the caller carries on
            raise CloneFailed(f"Cloning {template!r} into {self.schema_name!r} failed ({code}).")
        return True


class PlatformTenant(ValueError):
    """The public tenant is the platform, not an agency."""


class SchemaExists(ValidationError):
    """A tenant is only ever created into a schema that did not exist."""

    def __init__(self, schema_name: str) -> None:
        super().__init__(f"The schema {schema_name!r} already exists.")


class CloneFailed(DatabaseError):
    """`clone_schema()` returned an error code: the transaction must not go on."""


def _clone_function_installed() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE n.nspname = 'public' AND p.proname = 'clone_schema')"
        )
        row = cursor.fetchone()
    return bool(row and row[0])


class Domain(DomainMixin):
    """A host name that resolves to an agency (`<slug>.<BASE_DOMAIN>`, or the public host)."""

    def __str__(self) -> str:
        return self.domain


class ApiToken(models.Model):
    """A bearer token. Only the SHA-256 of its secret is stored; the token names its tenant."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64, unique=True)
    scopes = ArrayField(models.CharField(max_length=20))
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

"""Work that `migrate` does after the tables exist, so one command takes an empty database to a
working service and a second run changes nothing."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.management import call_command
from django.db.models.signals import post_migrate
from django.dispatch import receiver
from django_tenants.utils import schema_exists

from saas import beat
from saas.db import connection
from tenants import spares
from tenants.tenancy import install_clone_schema_function

SPARES_ENTRY = "tenants: keep spare schemas ready for signups"


def ensure_public_tenant() -> None:
    """The public tenant owns the public schema and answers on `BASE_DOMAIN`."""
    from tenants.models import Agency, Domain

    public, _ = Agency.objects.get_or_create(
        schema_name=settings.PUBLIC_SCHEMA_NAME,
        defaults={"name": "Platform", "slug": settings.PUBLIC_SCHEMA_NAME},
    )
    Domain.objects.update_or_create(
        domain=settings.BASE_DOMAIN, defaults={"tenant": public, "is_primary": True}
    )


def ensure_tenant_template(verbosity: int = 0) -> None:
    """Keep `TENANT_BASE_SCHEMA` migrated for TENANT_APPS, so signup clones it.

    Cloning a migrated schema takes a fraction of a second where replaying every migration takes
    several. The template has no Agency row and no domain: `migrate_schemas` never visits it on
    its own (hence this) and no request or periodic job is ever dispatched to it. Migrating it on
    every `migrate` brings new migrations to it; when nothing is new this changes nothing.
    """
    template = settings.TENANT_BASE_SCHEMA
    if not schema_exists(template):
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE SCHEMA "{template}"')
    with spares.template_migrating():  # no signup or refill clones it meanwhile
        call_command(
            "migrate_schemas",
            tenant=True,
            schema_name=template,
            interactive=False,
            verbosity=verbosity,
        )
    connection.set_schema_to_public()
    # Install django-tenants' clone_schema() function once, here, rather than on every signup.
    install_clone_schema_function()
    spares.refill()  # the stale spares dropped, new ones cloned


@receiver(post_migrate)
def after_migrate(sender: AppConfig, **kwargs: Any) -> None:
    if sender.name != "tenants" or connection.schema_name != settings.PUBLIC_SCHEMA_NAME:
        return
    ensure_public_tenant()
    ensure_tenant_template(verbosity=max(int(kwargs.get("verbosity", 1)) - 1, 0))


@receiver(post_migrate)
def store_beat_entry(sender: AppConfig, **kwargs: Any) -> None:
    if beat.is_beat_migrate(sender):
        beat.ensure_entry(SPARES_ENTRY, "tenants.refill_spares")

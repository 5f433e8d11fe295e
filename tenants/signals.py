"""Work that `migrate` does after the tables exist, so one command takes an empty database to a
working service and a second run changes nothing."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_migrate
from django.dispatch import receiver

from saas.db import connection


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


@receiver(post_migrate)
def after_migrate(sender: AppConfig, **kwargs: Any) -> None:
    if sender.name != "tenants" or connection.schema_name != settings.PUBLIC_SCHEMA_NAME:
        return
    ensure_public_tenant()

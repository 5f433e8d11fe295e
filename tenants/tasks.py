"""The platform's own periodic work (in the public schema)."""

from celery import shared_task

from tenants import spares


@shared_task(name="tenants.refill_spares", ignore_result=True)
def refill_spares() -> int:
    """Keep `TENANT_SPARE_SCHEMAS` cloned ahead of signups (tenants.spares)."""
    return spares.refill()

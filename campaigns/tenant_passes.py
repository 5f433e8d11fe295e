"""Running the full pass for every agency (the command, and the hourly safety net's dispatcher).

The minute's dispatcher reads the agencies with something due from `campaigns.due` instead."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django_tenants.utils import schema_context

from campaigns.jobs import PassResult, run_pass
from saas.db import connection
from tenants.models import Agency

logger = logging.getLogger(__name__)


# The tables a pass reads and writes: a schema without all of them is not ready (an agency whose
# schema is still being created or migrated gets its first pass once it is).
PASS_TABLES = (
    "campaigns_brand", "campaigns_campaign", "campaigns_schedulewindow", "campaigns_spendtotal",
    "campaigns_statuschange",
)


def ready_agencies(slug: str | None = None) -> list[tuple[str, str]]:
    """(slug, schema) of every agency whose schema is ready for a pass, the public one excluded.

    Two queries whatever the number of agencies.
    """
    agencies = Agency.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME)
    if slug:
        agencies = agencies.filter(slug=slug)
    ready = _ready_schemas()
    return [(a.slug, a.schema_name) for a in agencies.order_by("id") if a.schema_name in ready]


def _ready_schemas() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT schemaname FROM pg_catalog.pg_tables WHERE tablename = ANY(%s) "
            "GROUP BY schemaname HAVING count(*) = %s",
            [list(PASS_TABLES), len(PASS_TABLES)],
        )
        return {row[0] for row in cursor.fetchall()}


def run_for_schema(schema: str, at: datetime, *, only_due: bool = False) -> PassResult:
    with schema_context(schema):
        return run_pass(at, only_due=only_due)


def run_all_tenants(
    at: datetime, *, slug: str | None = None,
    on_result: Callable[[str, PassResult | None], None] | None = None,
) -> list[PassResult]:
    """One pass per agency; a failing agency is logged with its slug and does not stop the rest."""
    results = []
    for agency_slug, schema in ready_agencies(slug):
        try:
            result: PassResult | None = run_for_schema(schema, at)
        except Exception:
            logger.exception("jobs pass failed for agency %s", agency_slug)
            result = None
        if on_result:
            on_result(agency_slug, result)
        if result is not None:
            results.append(result)
    return results

"""Celery tasks: thin wrappers around campaigns.jobs.

Beat fires `dispatch_passes` once a minute (schedule in the public schema, made by `migrate`).
It enqueues one `run_tenant_pass` per agency whose schema is ready; tenant-schemas-celery carries
the schema in the task's headers and switches the worker's connection to it, so any worker on
any machine can take any agency's pass.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone
from django_tenants.utils import schema_context

from campaigns.jobs import run_pass
from campaigns.tenant_passes import ready_agencies
from saas.db import connection

logger = logging.getLogger(__name__)
PASS_EXPIRES_SECONDS = 55  # a pass still queued when the next one is due is dropped


@shared_task(name="campaigns.dispatch_passes", ignore_result=True)
def dispatch_passes() -> int:
    agencies = ready_agencies()
    for _slug, schema in agencies:
        with schema_context(schema):
            run_tenant_pass.apply_async(expires=PASS_EXPIRES_SECONDS)
    return len(agencies)


@shared_task(name="campaigns.run_tenant_pass", ignore_result=True)
def run_tenant_pass() -> int:
    """The pass for the agency this task was sent for, as of the moment it runs."""
    schema = connection.schema_name
    try:
        result = run_pass(timezone.now())
    except Exception:
        logger.exception("jobs pass failed for agency schema %s", schema)
        raise
    if result.transitions:
        logger.info("agency %s: %d campaigns changed", schema, len(result.transitions))
    return len(result.transitions)

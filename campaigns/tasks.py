"""Celery tasks: thin wrappers around campaigns.jobs.

Beat fires `dispatch_passes` once a minute (schedule in the public schema, made by `migrate`).
It reads the agencies with a campaign due (`campaigns.due`: one query) and enqueues one
`run_tenant_pass(only_due=True)` for each: a quiet minute enqueues nothing. Once an hour beat
also fires `dispatch_full_passes`, one pass of every brand of every agency whose schema is
ready, as a safety net (what `run_jobs` does). The app is
tenant-schemas-celery's `CeleryApp`: publishing a task stores `connection.schema_name` in its
`_schema_name` header, so each `run_tenant_pass` is sent from inside `schema_context(schema)`,
and the worker switches its connection to that schema before the task runs. Any worker on any
machine can take any agency's pass; agencies' passes are separate tasks, so one that fails
stops nobody else.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from celery import shared_task
from django.conf import settings
from django.utils import timezone
from django_tenants.utils import schema_context

from campaigns import due
from campaigns.jobs import run_pass
from campaigns.tenant_passes import ready_agencies
from saas.db import connection

logger = logging.getLogger(__name__)
# A pass still queued when the next one is due is dropped: the next one does the same work.
PASS_EXPIRES_SECONDS = 55


@shared_task(name="campaigns.dispatch_passes", ignore_result=True)
def dispatch_passes(at: str | None = None) -> int:
    """One `run_tenant_pass(only_due=True)` per agency with a campaign due at `at` (an ISO
    instant; beat sends none, so: now), which is handed to every pass: bench/scale.py uses it
    to make a zone's midnight happen on demand. Runs in the public schema (beat sends it so);
    one query. Returns how many passes it enqueued."""
    schemas = due.due_agencies(datetime.fromisoformat(at) if at else timezone.now())
    kwargs: dict[str, Any] = {"only_due": True, **({"at": at} if at else {})}
    return _enqueue(schemas, kwargs)


@shared_task(name="campaigns.dispatch_full_passes", ignore_result=True)
def dispatch_full_passes(at: str | None = None) -> int:
    """One full `run_tenant_pass` per ready agency (hourly, the safety net); as
    `dispatch_passes` otherwise."""
    schemas = [schema for _slug, schema in ready_agencies()]
    return _enqueue(schemas, {"at": at} if at else None, queue=settings.FULL_PASS_QUEUE)


def _enqueue(schemas: list[str], kwargs: dict[str, Any] | None,
             queue: str | None = None) -> int:
    options = {"queue": queue} if queue else {}
    for schema in schemas:
        with schema_context(schema):  # the header carries the schema current at publish time
            run_tenant_pass.apply_async(kwargs=kwargs, expires=PASS_EXPIRES_SECONDS, **options)
    return len(schemas)


@shared_task(name="campaigns.run_tenant_pass", ignore_result=True)
def run_tenant_pass(at: str | None = None, only_due: bool = False) -> int:
    """The pass for the agency this task was sent for, as of the moment it runs (or of `at`,
    an ISO instant, when the sender gave one): of its brands with a campaign due, with
    `only_due`, else of all (a message without it, as before due passes, is a full pass)."""
    schema = connection.schema_name
    # tenant-schemas-celery set the connection to the Agency row (cached for
    # CELERY_TASK_TENANT_CACHE_SECONDS), so the log can name the slug, not only the schema.
    slug = getattr(connection.tenant, "slug", None) or schema
    if schema == settings.PUBLIC_SCHEMA_NAME:
        logger.error("jobs pass refused: the task carried no agency schema")
        return 0
    try:
        result = run_pass(datetime.fromisoformat(at) if at else timezone.now(),
                          only_due=only_due)
    except Exception:
        logger.exception("jobs pass failed for agency %s (schema %s)", slug, schema)
        raise
    if result.transitions:
        logger.info("agency %s: %d campaigns changed", slug, len(result.transitions))
    return len(result.transitions)

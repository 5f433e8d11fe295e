"""Celery tasks of notifications: thin wrappers around `delivery` and `wakeups`.

- `deliver(endpoint_id)` sends one endpoint's due deliveries, in the agency's schema (the app is
  tenant-schemas-celery's `CeleryApp`: a task published inside `schema_context(schema)` runs in
  that schema). It is sent when an event-writing transaction commits (`send_soon`), at the
  moment of a retry due within a minute, and by the sweep. It runs on the `webhooks` queue, so
  slow receivers never hold the processes that run the budget passes, and within an agency's
  `slots` share, so one agency's slow receivers never hold all of that queue's processes.
- `dispatch_due` runs every minute from beat, in the public schema: one query finds the
  agencies whose earliest delivery is due, and each gets a `sweep`, which hands every endpoint
  with something due to `deliver`. So deliveries go out even if the task sent on commit was
  lost: Redis down at that moment, a worker killed while sending.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from datetime import datetime, timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone
from django_tenants.utils import schema_context

from notifications import slots, wakeups
from notifications.delivery import deliver_endpoint
from saas.db import connection

logger = logging.getLogger(__name__)
SWEEP_EXPIRES_SECONDS = 55  # the next minute's sweep does the same work
SLOT_WAIT = timedelta(seconds=1)  # a delivery whose agency is at its cap tries again after this
_rng = random.SystemRandom()  # the retry schedule's jitter


def _publish(schema: str, endpoint_id: int, *, eta: datetime | None = None) -> None:
    """Queue `deliver` for an endpoint of `schema`; no broker retries: if Redis is down, the
    sweep sends the deliveries once it is back."""
    with schema_context(schema):
        deliver.apply_async((endpoint_id,), eta=eta, retry=False)


def send_soon(schema: str, endpoint_ids: Sequence[int]) -> None:
    """After a commit that scheduled deliveries: one `deliver` per endpoint, now."""
    for endpoint_id in endpoint_ids:
        try:
            _publish(schema, endpoint_id)
        except Exception:  # the broker is down: the deliveries are stored, the sweep sends them
            logger.warning("could not queue the delivery to webhook %s of %s; the sweep will "
                           "send it", endpoint_id, schema, exc_info=True)
            return


@shared_task(name="notifications.deliver", ignore_result=True)
def deliver(endpoint_id: int) -> int:
    """Send what is due for one endpoint of this task's agency, for one turn."""
    schema = connection.schema_name
    if schema == settings.PUBLIC_SCHEMA_NAME:
        logger.error("webhook delivery refused: the task carried no agency schema")
        return 0
    with slots.agency_slot(schema) as granted:
        if not granted:  # the agency's other endpoints hold its share: come back shortly
            _publish(schema, endpoint_id, eta=timezone.now() + SLOT_WAIT)
            return 0
        report = deliver_endpoint(endpoint_id, clock=timezone.now, rng=_rng)
    if report.more:
        _publish(schema, endpoint_id)  # the backlog goes on, after the work queued meanwhile
    elif report.next_due is not None:
        _publish(schema, endpoint_id, eta=report.next_due)
    if report.disabled:
        logger.warning("webhook %s of %s disabled: %s", endpoint_id, schema, report.disabled)
    return report.sent


@shared_task(name="notifications.dispatch_due", ignore_result=True)
def dispatch_due() -> int:
    """One `sweep` per agency with a delivery due; runs in the public schema (beat sends it)."""
    schemas = wakeups.due_agencies(timezone.now())
    for schema in schemas:
        with schema_context(schema):
            sweep.apply_async(expires=SWEEP_EXPIRES_SECONDS)
    return len(schemas)


@shared_task(name="notifications.sweep", ignore_result=True)
def sweep() -> int:
    """Hand each endpoint of this agency with deliveries due to `deliver`."""
    schema = connection.schema_name
    if schema == settings.PUBLIC_SCHEMA_NAME:
        return 0
    found = wakeups.sweep(timezone.now())
    for endpoint_id in found.endpoints:
        _publish(schema, endpoint_id)
    return len(found.endpoints)

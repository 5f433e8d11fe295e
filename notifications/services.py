"""Writes to webhook endpoints, for the API and the dashboard alike: create, edit, delete,
rotate the secret, send a test, recover. Each change of an endpoint is recorded in the audit
log with its actor, in the transaction of the change (a secret never is: only that it was
rotated)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from psycopg import sql

from audit.log import Actor, changes_between, record
from audit.models import Action, ObjectType
from notifications import signing, ssrf, vault, wakeups
from notifications.events import record_events, webhook_test_event
from notifications.models import (
    EVENT_TYPES,
    Delivery,
    DeliveryAttempt,
    Event,
    WebhookEndpoint,
    all_event_types,
)
from saas.db import connection
from saas.errors import Conflict

ROTATION_OVERLAP = timedelta(hours=24)  # both secrets sign for this long after a rotation
MAX_URL_LENGTH = 2000
# The fields the audit log follows: the API's own.
AUDITED_FIELDS = ("url", "event_types", "description", "enabled")


class EndpointDisabled(Conflict):
    """The endpoint is disabled: enable it before testing or recovering it."""


def validate_endpoint_url(url: str) -> str:
    """The URL if webhooks may be sent there (notifications.ssrf), else a ValidationError
    saying why. Resolves the host: what it resolves to is what is checked."""
    if len(url) > MAX_URL_LENGTH:
        raise ValidationError(f"At most {MAX_URL_LENGTH} characters.")
    try:
        return ssrf.validate_url(url, settings.WEBHOOK_ALLOW_PRIVATE)
    except ssrf.UnsafeWebhookURL as refused:
        raise ValidationError(str(refused)) from refused


def validate_event_types(event_types: Sequence[str]) -> list[str]:
    """Known types, each once, at least one; kept in the contract's order."""
    unknown = [t for t in event_types if t not in EVENT_TYPES]
    if unknown:
        raise ValidationError(f"Unknown event type {unknown[0]!r}; known: "
                              f"{', '.join(EVENT_TYPES)}.")
    if not event_types:
        raise ValidationError("Choose at least one event type.")
    return [t for t in EVENT_TYPES if t in set(event_types)]


@dataclass(frozen=True)
class Created:
    endpoint: WebhookEndpoint
    secret: str  # shown once, never again


def audited(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {name: getattr(endpoint, name) for name in AUDITED_FIELDS}


def create_endpoint(*, url: str, actor: Actor, now: datetime,
                    event_types: Sequence[str] | None = None, description: str = "",
                    enabled: bool = True) -> Created:
    """A new endpoint with a fresh secret. `url` and `event_types` are validated already."""
    secret = signing.new_secret()
    with transaction.atomic():
        _refuse_past_the_endpoint_cap()
        endpoint = WebhookEndpoint.objects.create(
            url=url, description=description, enabled=enabled, created_at=now,
            event_types=list(event_types) if event_types is not None else all_event_types(),
            secret=vault.seal(secret),
        )
        record(actor, Action.CREATE, ObjectType.WEBHOOK, endpoint.pk, at=now,
               changes=changes_between({}, audited(endpoint)))
    return Created(endpoint, secret)


class TooManyEndpoints(Conflict):
    def __init__(self) -> None:
        super().__init__(f"An agency may have at most {settings.WEBHOOK_MAX_ENDPOINTS} webhook "
                         "endpoints; delete one first.")


def _refuse_past_the_endpoint_cap() -> None:
    """Each endpoint costs the shared workers its deliveries: `WEBHOOK_MAX_ENDPOINTS` per
    agency. Two creates at once count one after the other (an agency-wide transaction lock)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                       [f"webhooks.create:{connection.schema_name}"])
    if WebhookEndpoint.objects.count() >= settings.WEBHOOK_MAX_ENDPOINTS:
        raise TooManyEndpoints


def update_endpoint(endpoint: WebhookEndpoint, changes: dict[str, Any], *, actor: Actor,
                    now: datetime) -> WebhookEndpoint:
    """Edit url, event_types, description or enabled (validated already).

    Disabling stops every pending delivery (`recover` sends them later); enabling starts the
    failure count afresh.
    """
    fields = dict(changes)
    with transaction.atomic():
        locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        before = audited(locked)
        if "enabled" in fields and fields["enabled"] != locked.enabled:
            if fields["enabled"]:
                fields.update(failing_since=None, available_at=None, disabled_at=None,
                              disabled_reason="")
            else:
                fields.update(disabled_at=now, disabled_reason="disabled by a user")
                Delivery.objects.filter(endpoint_id=endpoint.pk,
                                        next_attempt_at__isnull=False).update(
                    next_attempt_at=None)
        for name, value in fields.items():
            setattr(locked, name, value)
        if fields:
            locked.save(update_fields=list(fields))
        if edited := changes_between(before, audited(locked)):
            record(actor, Action.UPDATE, ObjectType.WEBHOOK, locked.pk, at=now, changes=edited)
    return locked


DELETE_SQL = sql.SQL("""
WITH log AS (DELETE FROM {attempt} WHERE endpoint_id = %(endpoint)s),
deliveries AS (DELETE FROM {delivery} WHERE endpoint_id = %(endpoint)s)
DELETE FROM {endpoint} WHERE id = %(endpoint)s
""").format(attempt=sql.Identifier(DeliveryAttempt._meta.db_table),
            delivery=sql.Identifier(Delivery._meta.db_table),
            endpoint=sql.Identifier(WebhookEndpoint._meta.db_table))


def delete_endpoint(endpoint: WebhookEndpoint, *, actor: Actor, now: datetime) -> None:
    """The endpoint, its deliveries and their log, in one statement however many there are
    (the ORM's cascade would read every delivery first)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(DELETE_SQL, {"endpoint": endpoint.pk})
        record(actor, Action.DELETE, ObjectType.WEBHOOK, endpoint.pk, at=now,
               changes=changes_between(audited(endpoint), {}))


def rotate_secret(endpoint: WebhookEndpoint, *, actor: Actor, now: datetime) -> str:
    """A new secret; for the next 24 hours deliveries carry a signature with the one it
    replaces too (a secret rotated again within them replaces that one)."""
    secret = signing.new_secret()
    with transaction.atomic():
        locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        locked.previous_secret = locked.secret
        locked.previous_secret_expires_at = now + ROTATION_OVERLAP
        locked.secret = vault.seal(secret)
        locked.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at"])
        record(actor, Action.UPDATE, ObjectType.WEBHOOK, locked.pk, at=now,
               changes={"secret": ["(hidden)", "(rotated)"]})
    return secret


def send_test(endpoint: WebhookEndpoint, *, now: datetime) -> Event:
    """A `webhook.test` event, delivered to this endpoint only."""
    if not endpoint.enabled:
        raise EndpointDisabled("The endpoint is disabled; enable it to send a test.")
    with transaction.atomic():
        (event_id,) = record_events([webhook_test_event(endpoint.pk, at=now)])
    return Event.objects.get(pk=event_id)


RECOVER_SQL = sql.SQL("""
WITH wanted AS (
    SELECT e.id FROM {event} e JOIN {endpoint} w ON w.id = %(endpoint)s
    WHERE e.created_at >= %(since)s AND CASE
        WHEN e.for_endpoint IS NULL THEN e.type = ANY(w.event_types::text[])
        ELSE e.for_endpoint = w.id END
), available AS (
    -- Never sooner than the endpoint asked (a 429's or 503's Retry-After, its outage wait).
    SELECT GREATEST(%(now)s, available_at) AS at FROM {endpoint} WHERE id = %(endpoint)s
), rescheduled AS (
    -- A delivery a sender is recording right now is left to it: its own retry follows.
    UPDATE {delivery} d SET next_attempt_at = (SELECT at FROM available)
    WHERE d.id IN (SELECT p.id FROM {delivery} p JOIN wanted ON wanted.id = p.event_id
                   WHERE p.endpoint_id = %(endpoint)s AND p.delivered_at IS NULL
                   FOR UPDATE SKIP LOCKED)
    RETURNING d.next_attempt_at
), added AS (
    INSERT INTO {delivery} (endpoint_id, event_id, attempts, next_attempt_at, created_at)
    SELECT %(endpoint)s, id, 0, (SELECT at FROM available), %(now)s FROM wanted
    ON CONFLICT (endpoint_id, event_id) DO NOTHING
    RETURNING next_attempt_at
), scheduled AS (
    SELECT next_attempt_at FROM rescheduled UNION ALL SELECT next_attempt_at FROM added
), due AS ({lower_due})
SELECT count(*) FROM scheduled
""").format(event=sql.Identifier(Event._meta.db_table),
            endpoint=sql.Identifier(WebhookEndpoint._meta.db_table),
            delivery=sql.Identifier(Delivery._meta.db_table),
            lower_due=wakeups.lower_due("scheduled"))


def recover(endpoint: WebhookEndpoint, *, since: datetime, now: datetime) -> int:
    """Deliver again every event of the endpoint's types since `since` that it has not
    acknowledged (never delivered, failed, given up on, or from before it was disabled);
    how many. One statement; the deliveries go out once it commits."""
    if not endpoint.enabled:
        raise EndpointDisabled("The endpoint is disabled; enable it before recovering.")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(RECOVER_SQL, {"endpoint": endpoint.pk, "since": since, "now": now,
                                     "schema": connection.schema_name})
        (scheduled,) = cursor.fetchone()
        if scheduled:
            from notifications.tasks import send_soon  # the tasks module imports services'

            schema = connection.schema_name
            transaction.on_commit(lambda: send_soon(schema, [endpoint.pk]), robust=True)
    return int(scheduled)

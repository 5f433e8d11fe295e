"""Sending an endpoint's due deliveries: one endpoint at a time, attempts recorded in batches.

`deliver_endpoint` is what the Celery task runs for one endpoint of the agency whose schema the
connection is in. The rules it keeps:

- **One sender per endpoint.** It first takes the endpoint's session-level advisory lock with
  `pg_try_advisory_lock`; if another sender holds it, it returns at once instead of waiting, so
  an endpoint never occupies more than one worker process. The lock, not row locks, keeps two
  workers from sending the same attempt at once, so no transaction stays open while a receiver
  is slow: deleting an endpoint, editing it or `recover` never wait for an HTTP request. A
  killed worker's connection closes and PostgreSQL releases its lock; its deliveries are still
  due and the next sender (or the sweep) sends them again: at least once.
- **Nothing handed to a busy sender is forgotten.** A sender that finds the lock taken leaves,
  but the holder looks once more for due deliveries after it lets go of the lock, and that look
  sees everything committed before the other sender tried.
- **A dead endpoint costs one attempt per wait, not one per event.** When an attempt finds the
  endpoint unavailable (no answer, a timeout, 429 or a 5xx), the endpoint is left alone for
  `retry.unavailable_wait` (5 s, growing with the outage to a minute; never less than its
  Retry-After): its other due deliveries and those of new events wait until then without
  spending an attempt (`available_at`), which only ever postpones a delivery, never brings one
  forward. Each batch takes the deliveries tried least first, so during an outage each event
  spends about one attempt and all of them go out within a minute of the endpoint's return; an
  outage of 5 days disables the endpoint as any other failure does.
- **A bounded turn.** After `TURN_SECONDS` of sending, the sender stops and asks to be run again
  (`on_more`), so a long backlog of one endpoint takes turns with everyone else's work.

Each batch is read with one query and recorded with a fixed number of statements whatever its
size: the deliveries and their log rows, the endpoint's failure bookkeeping (the first failure
since the last success; 5 days of it, or one 410, disables the endpoint with a
`webhook.disabled` event), and the agency's sweep marker.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from psycopg import sql

from notifications import retry, sender, signing, vault, wakeups
from notifications.events import event_body, record_events, webhook_disabled_event
from notifications.models import Delivery, DeliveryAttempt, Event, WebhookEndpoint
from saas.db import connection

BATCH_SIZE = 100
TURN_SECONDS = 10.0
# Retries due this soon are sent by a task scheduled for that moment; later ones by the sweep
# (which runs every minute), so that no broker holds a message for hours.
ETA_HORIZON = timedelta(seconds=60)
GONE_REASON = "the endpoint answered 410 Gone"
SILENT_REASON = "no successful delivery for 5 days"

Clock = Callable[[], datetime]

LOCK_SQL = "SELECT pg_try_advisory_lock(hashtextextended(%s, 0))"
UNLOCK_SQL = "SELECT pg_advisory_unlock(hashtextextended(%s, 0))"
ENDPOINT_SQL = sql.SQL("""
SELECT url, secret, previous_secret, previous_secret_expires_at, failing_since
FROM {endpoint} WHERE id = %(endpoint)s AND enabled
""").format(endpoint=sql.Identifier(WebhookEndpoint._meta.db_table))
DUE_SQL = sql.SQL("""
SELECT d.id, d.event_id, d.attempts, e.type, e.created_at, e.data
FROM {delivery} d JOIN {event} e ON e.id = d.event_id
WHERE d.endpoint_id = %(endpoint)s AND d.next_attempt_at <= %(now)s
ORDER BY d.attempts, d.next_attempt_at, d.id
LIMIT %(limit)s
""").format(delivery=sql.Identifier(Delivery._meta.db_table),
            event=sql.Identifier(Event._meta.db_table))  # index delivery_due_by_endpoint, sorted
ANY_DUE_SQL = sql.SQL("""
SELECT EXISTS (SELECT 1 FROM {delivery} d JOIN {endpoint} w ON w.id = d.endpoint_id
               WHERE d.endpoint_id = %(endpoint)s AND w.enabled
                 AND d.next_attempt_at <= %(now)s)
""").format(delivery=sql.Identifier(Delivery._meta.db_table),
            endpoint=sql.Identifier(WebhookEndpoint._meta.db_table))
NEXT_DUE_SQL = sql.SQL("""
SELECT min(d.next_attempt_at) FROM {delivery} d JOIN {endpoint} w ON w.id = d.endpoint_id
WHERE d.endpoint_id = %(endpoint)s AND w.enabled AND d.next_attempt_at > %(now)s
""").format(delivery=sql.Identifier(Delivery._meta.db_table),
            endpoint=sql.Identifier(WebhookEndpoint._meta.db_table))
# `attempts = r.seen` makes a second recording of the same attempt (a sender that lost its
# lock with its connection and recorded late) a no-op instead of a duplicate log row.
RECORD_SQL = sql.SQL("""
WITH r AS (
    SELECT * FROM jsonb_to_recordset(%(results)s::jsonb) AS r(
        id bigint, event bigint, seen int, at timestamptz, status_code int, duration_ms int,
        error text, next_attempt_at timestamptz, delivered boolean)
), updated AS (
    UPDATE {delivery} d
    SET attempts = r.seen + 1, next_attempt_at = r.next_attempt_at,
        delivered_at = CASE WHEN r.delivered THEN r.at ELSE d.delivered_at END
    FROM r WHERE d.id = r.id AND d.attempts = r.seen
    RETURNING d.id
)
INSERT INTO {attempt} (delivery_id, endpoint_id, event_id, attempt, at, status_code,
                       duration_ms, error, next_attempt_at)
SELECT r.id, %(endpoint)s, r.event, r.seen + 1, r.at, r.status_code, r.duration_ms, r.error,
       r.next_attempt_at
FROM r JOIN updated u ON u.id = r.id
""").format(delivery=sql.Identifier(Delivery._meta.db_table),
            attempt=sql.Identifier(DeliveryAttempt._meta.db_table))
DEFER_SQL = sql.SQL("""
UPDATE {delivery} SET next_attempt_at = %(until)s
WHERE endpoint_id = %(endpoint)s AND next_attempt_at <= %(until)s AND NOT id = ANY(%(tried)s)
""").format(delivery=sql.Identifier(Delivery._meta.db_table))
CANCEL_SQL = sql.SQL("""
UPDATE {delivery} SET next_attempt_at = NULL
WHERE endpoint_id = %(endpoint)s AND next_attempt_at IS NOT NULL
""").format(delivery=sql.Identifier(Delivery._meta.db_table))


@dataclass(frozen=True)
class Target:
    """The endpoint as a sender needs it: where, and the secrets that sign right now."""

    url: str
    secrets: list[str]
    failing_since: datetime | None


@dataclass(frozen=True)
class Due:
    delivery_id: int
    event_id: int
    attempts: int  # made so far
    body: bytes


@dataclass(frozen=True)
class Outcome:
    """One attempt as it is recorded."""

    due: Due
    at: datetime
    result: sender.SendResult
    next_attempt_at: datetime | None


@dataclass
class Report:
    """What one run of `deliver_endpoint` did."""

    busy: bool = False  # another sender held the endpoint: it will see what was due
    sent: int = 0
    delivered: int = 0
    disabled: str | None = None  # the reason, if this run disabled the endpoint
    more: bool = False  # the turn ended with deliveries still due: `on_more` was called
    next_due: datetime | None = None  # the earliest later delivery, if within ETA_HORIZON
    outcomes: list[Outcome] = field(default_factory=list)


def unavailable(result: sender.SendResult) -> bool:
    """The endpoint is down or overloaded, not refusing this one event."""
    code = result.status_code
    return code is None or code == 429 or code >= 500


def deliver_endpoint(
    endpoint_id: int,
    *,
    clock: Clock,
    rng: random.Random,
    allow_private: bool | None = None,
    batch_size: int = BATCH_SIZE,
    turn_seconds: float = TURN_SECONDS,
) -> Report:
    """Send what is due for the endpoint now, within one turn; see the module's doc."""
    allow = settings.WEBHOOK_ALLOW_PRIVATE if allow_private is None else allow_private
    report = Report()
    turn_ends = time.monotonic() + turn_seconds
    key = f"notifications.endpoint:{connection.schema_name}:{endpoint_id}"
    while True:
        if not _try_lock(key):
            report.busy = True
            return report
        try:
            stop = _send_batches(endpoint_id, report, clock=clock, rng=rng,
                                 allow_private=allow, batch_size=batch_size, turn_ends=turn_ends)
        finally:
            _unlock(key)
        if stop or not _any_due(endpoint_id, clock()):
            break
    if report.disabled is None and not report.more:
        report.next_due = _next_due_soon(endpoint_id, clock())
    return report


def _send_batches(endpoint_id: int, report: Report, *, clock: Clock, rng: random.Random,
                  allow_private: bool, batch_size: int, turn_ends: float) -> bool:
    """Batches until nothing is due, the endpoint fails or is disabled, or the turn ends;
    True when the caller must not look again now."""
    while True:
        now = clock()
        target = _target(endpoint_id, now)
        if target is None:
            return True  # deleted or disabled: nothing more to send
        due = _due(endpoint_id, now, batch_size)
        if not due:
            return False
        outcomes, failed = _attempt(target, due, clock=clock, rng=rng,
                                    allow_private=allow_private, turn_ends=turn_ends)
        _record(endpoint_id, target, outcomes, failed=failed, clock=clock, report=report)
        if failed is not None or report.disabled is not None:
            return True
        if time.monotonic() >= turn_ends:
            report.more = True
            return True


def _attempt(target: Target, due: Sequence[Due], *, clock: Clock, rng: random.Random,
             allow_private: bool, turn_ends: float) -> tuple[list[Outcome], Outcome | None]:
    """Send the batch in order over one connection (`sender.Session`: the address is checked
    for the batch and every attempt goes to a checked one), stopping at the first sign that
    the endpoint is unavailable (returned second) or at the end of the turn."""
    outcomes = []
    with sender.Session(target.url, allow_private=allow_private) as session:
        for item in due:
            at = clock()
            headers = signing.delivery_headers(target.secrets, str(item.event_id), at,
                                               item.body)
            result = session.send(item.body, headers)
            outcome = Outcome(item, at, result, _next_attempt(item, result, clock(), rng))
            outcomes.append(outcome)
            if not result.delivered and (unavailable(result)
                                         or retry.is_gone(result.status_code)):
                return outcomes, outcome
            if time.monotonic() >= turn_ends:
                break
    return outcomes, None


def _next_attempt(item: Due, result: sender.SendResult, finished: datetime,
                  rng: random.Random) -> datetime | None:
    if result.delivered or retry.is_gone(result.status_code):
        return None
    return retry.next_attempt_at(item.attempts + 1, finished, retry_after=result.retry_after,
                                 rng=rng)


def _record(endpoint_id: int, target: Target, outcomes: Sequence[Outcome], *,
            failed: Outcome | None, clock: Clock, report: Report) -> None:
    """Store a batch's attempts and what follows from them, in one short transaction.

    Lock order, the same everywhere: the endpoint row, then the agency's event ordering lock
    (only when a `webhook.disabled` event is written), then the sweep marker.
    """
    failing_since, disabled = _bookkeeping(target.failing_since, outcomes)
    schedule = [o.next_attempt_at for o in outcomes if o.next_attempt_at is not None]
    until = None
    if failed is not None:
        now = clock()
        failing_for = now - (failing_since or failed.at)
        until = now + retry.unavailable_wait(failing_for, retry_after=failed.result.retry_after)
    with transaction.atomic():
        _update_endpoint(endpoint_id, failing_since, disabled, outcomes[-1].at, until)
        if disabled is not None:
            record_events([webhook_disabled_event(endpoint_id, disabled, at=outcomes[-1].at)])
        with connection.cursor() as cursor:
            cursor.execute(RECORD_SQL, {"results": _results_document(outcomes),
                                        "endpoint": endpoint_id})
            if disabled is not None:
                cursor.execute(CANCEL_SQL, {"endpoint": endpoint_id})
            elif until is not None:
                tried = [o.due.delivery_id for o in outcomes]
                cursor.execute(DEFER_SQL, {"until": until, "endpoint": endpoint_id,
                                           "tried": tried})
                if cursor.rowcount:
                    schedule.append(until)
        if disabled is None:
            wakeups.lower_to(schedule)
    report.sent += len(outcomes)
    report.delivered += sum(1 for o in outcomes if o.result.delivered)
    report.outcomes.extend(outcomes)
    report.disabled = disabled


def _bookkeeping(failing_since: datetime | None,
                 outcomes: Sequence[Outcome]) -> tuple[datetime | None, str | None]:
    """The first failure since the last success after these attempts, and the reason to
    disable the endpoint, if any."""
    for outcome in outcomes:
        if outcome.result.delivered:
            failing_since = None
            continue
        if retry.is_gone(outcome.result.status_code):
            return failing_since or outcome.at, GONE_REASON
        failing_since = failing_since or outcome.at
        if retry.should_disable(failing_since, outcome.at):
            return failing_since, SILENT_REASON
    return failing_since, None


def _update_endpoint(endpoint_id: int, failing_since: datetime | None, disabled: str | None,
                     at: datetime, available_at: datetime | None) -> None:
    changes: dict[str, Any] = {"failing_since": failing_since, "available_at": available_at}
    if disabled is not None:
        changes.update(enabled=False, disabled_at=at, disabled_reason=disabled)
    WebhookEndpoint.objects.filter(pk=endpoint_id).update(**changes)


def _results_document(outcomes: Sequence[Outcome]) -> str:
    return json.dumps([
        {"id": o.due.delivery_id, "event": o.due.event_id, "seen": o.due.attempts,
         "at": o.at.isoformat(), "status_code": o.result.status_code,
         "duration_ms": o.result.duration_ms, "error": o.result.error,
         "next_attempt_at": o.next_attempt_at.isoformat() if o.next_attempt_at else None,
         "delivered": o.result.delivered}
        for o in outcomes
    ])


def signing_secrets(secret: str, previous: str, previous_expires_at: datetime | None,
                    at: datetime) -> list[str]:
    """The secrets that sign an attempt at `at`: the current one, and the previous one for
    24 hours after a rotation."""
    secrets = [vault.unseal(secret)]
    if previous and previous_expires_at is not None and at < previous_expires_at:
        secrets.append(vault.unseal(previous))
    return secrets


def _target(endpoint_id: int, now: datetime) -> Target | None:
    with connection.cursor() as cursor:
        cursor.execute(ENDPOINT_SQL, {"endpoint": endpoint_id})
        row = cursor.fetchone()
    if row is None:
        return None
    url, secret, previous, previous_expires_at, failing_since = row
    return Target(url, signing_secrets(secret, previous, previous_expires_at, now),
                  failing_since)


def _due(endpoint_id: int, now: datetime, limit: int) -> list[Due]:
    with connection.cursor() as cursor:
        cursor.execute(DUE_SQL, {"endpoint": endpoint_id, "now": now, "limit": limit})
        rows = cursor.fetchall()
    return [
        Due(delivery_id, event_id, attempts, delivery_body(event_id, event_type, created_at,
                                                           data))
        for delivery_id, event_id, attempts, event_type, created_at, data in rows
    ]


def delivery_body(event_id: int, event_type: str, created_at: datetime, data: Any) -> bytes:
    """The POSTed body: the event exactly as the events API shows it."""
    if isinstance(data, str):  # Django's psycopg adapters hand raw jsonb over as its text
        data = json.loads(data)
    body = event_body(event_id, event_type, created_at, data)
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _any_due(endpoint_id: int, now: datetime) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(ANY_DUE_SQL, {"endpoint": endpoint_id, "now": now})
        row = cursor.fetchone()
    return bool(row and row[0])


def _next_due_soon(endpoint_id: int, now: datetime) -> datetime | None:
    with connection.cursor() as cursor:
        cursor.execute(NEXT_DUE_SQL, {"endpoint": endpoint_id, "now": now})
        row = cursor.fetchone()
    next_due = row[0] if row else None
    return next_due if next_due is not None and next_due - now <= ETA_HORIZON else None


def _try_lock(key: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(LOCK_SQL, [key])
        row = cursor.fetchone()
    return bool(row and row[0])


def _unlock(key: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(UNLOCK_SQL, [key])

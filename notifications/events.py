"""Events: written in the transaction of their cause, in commit order, with their deliveries.

`record_events` is the only writer of events. It is called inside the transaction that makes
the decision (a status change, a spend crossing a threshold, an endpoint disabled), as late as
possible: it first takes this agency's *ordering lock*, a transaction-level advisory lock, and
then inserts every event with one statement. The lock is held until the transaction ends, so
the transactions that write events of one agency take their ids from the sequence one after the
other, each only once the one before has committed (or rolled back). Ids are therefore assigned
in commit order: whoever can see event N can also see every event below N that will ever exist,
which is what lets a poller of `GET /events?after=` never miss one. (Ids from a sequence are
otherwise taken before commit: a transaction that took id 5 and commits after the one that took
id 6 would be skipped by a poller that saw 6 first. Comparing with the oldest running
transaction's xid is not enough either: an older transaction can take a higher id.)

The same statement schedules a delivery for every enabled endpoint subscribed to each event
and lowers the agency's sweep marker (`wakeups`); once the transaction commits, a Celery task
per endpoint sends them (and the sweep does, if the task never runs).

How the deciders call it, inside their transaction, after their own writes:

    rows = status_change_events(decision.transitions, at=at, cause=cause,
                                campaigns={id: (name, brand_id)}, overshoot={id: {reason: d}})
    rows += threshold_events(threshold_crossings(budget_spends), at=at)  # the ledger's
    record_events(rows)  # the last statement before the commit

No event without its cause and no cause without its event: both commit or neither does. Calling
it twice in one transaction is allowed (the lock is re-entrant), but each call holds every
other event writer of the agency back until the commit, so call it once, last.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any, Protocol

from django.db import transaction
from psycopg import sql

from campaigns.money import format_amount
from notifications.models import Delivery, DeliveryAttempt, Event, EventType, WebhookEndpoint
from notifications.thresholds import Crossing
from notifications.wakeups import lower_due
from saas.db import connection

PAUSED = "paused"
RETENTION = timedelta(days=30)  # events, their deliveries and their log


@dataclass(frozen=True)
class NewEvent:
    """An event to record: its type, its `data` exactly as the API shows it, and when."""

    type: str
    data: Mapping[str, Any]
    created_at: datetime
    dedupe_key: str | None = None  # stored at most once per key (threshold crossings)
    for_endpoint: int | None = None  # delivered to this endpoint only (webhook.test)


def instant_text(at: datetime) -> str:
    """An instant as the API writes it: ISO 8601 in UTC, `Z` for the offset."""
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def event_body(event_id: int, event_type: str, created_at: datetime,
               data: Mapping[str, Any]) -> dict[str, Any]:
    """An event as the events API shows it and every delivery POSTs it."""
    return {"id": event_id, "type": event_type, "created_at": instant_text(created_at),
            "data": data}


# --- The writer --------------------------------------------------------------------------------

ORDERING_LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))"
RECORD_SQL = sql.SQL("""
WITH new AS (
    SELECT * FROM jsonb_to_recordset(%(events)s::jsonb) AS r(
        ord int, type text, created_at timestamptz, data jsonb, dedupe_key text,
        for_endpoint bigint)
), inserted AS (
    INSERT INTO {event} (type, created_at, data, dedupe_key, for_endpoint)
    SELECT type, created_at, data, dedupe_key, for_endpoint FROM new ORDER BY ord
    ON CONFLICT (dedupe_key) DO NOTHING
    RETURNING id, type, for_endpoint, created_at
), scheduled AS (
    -- Due at once: at the event's instant, or now if that is later (a what-if in the future),
    -- unless the endpoint was found unavailable and is not to be tried before `available_at`.
    INSERT INTO {delivery} (endpoint_id, event_id, attempts, next_attempt_at, created_at)
    SELECT w.id, i.id, 0, GREATEST(LEAST(i.created_at, now()), w.available_at), now()
    FROM inserted i JOIN {endpoint} w ON w.enabled AND CASE
        WHEN i.for_endpoint IS NULL THEN i.type = ANY(w.event_types::text[])
        ELSE w.id = i.for_endpoint END
    RETURNING endpoint_id, next_attempt_at
), due AS ({lower_due})
SELECT id, NULL::bigint FROM inserted
UNION ALL
SELECT DISTINCT NULL::bigint, endpoint_id FROM scheduled
""").format(
    event=sql.Identifier(Event._meta.db_table),
    delivery=sql.Identifier(Delivery._meta.db_table),
    endpoint=sql.Identifier(WebhookEndpoint._meta.db_table),
    lower_due=lower_due("scheduled"),
)


def take_ordering_lock() -> None:
    """This agency's event ordering lock, until the transaction ends (see the module's doc)."""
    with connection.cursor() as cursor:
        cursor.execute(ORDERING_LOCK_SQL, [f"notifications.events:{connection.schema_name}"])


def record_events(rows: Sequence[NewEvent]) -> list[int]:
    """Store `rows` (in their order) with their deliveries; the ids stored, ascending.

    Call it inside the transaction of the cause, as its last statement before commit: from here
    to the commit, every other transaction that writes events of this agency waits. Two
    statements whatever the number of events. An event whose `dedupe_key` is already stored is
    skipped (no id for it). With no rows it does nothing, and takes no lock.
    """
    if not rows:
        return []
    document = json.dumps([
        {"ord": index, "type": row.type, "created_at": row.created_at.isoformat(),
         "data": dict(row.data), "dedupe_key": row.dedupe_key,
         "for_endpoint": row.for_endpoint}
        for index, row in enumerate(rows)
    ])
    # The lock must be held by the transaction that inserts (no savepoint: nothing to undo).
    with transaction.atomic(savepoint=False):
        take_ordering_lock()
        with connection.cursor() as cursor:
            cursor.execute(RECORD_SQL, {"events": document, "schema": connection.schema_name})
            results = cursor.fetchall()
    event_ids = sorted(event_id for event_id, _ in results if event_id is not None)
    endpoints = sorted(endpoint for _, endpoint in results if endpoint is not None)
    if endpoints:
        from notifications.tasks import send_soon  # the tasks module imports this one

        transaction.on_commit(partial(send_soon, connection.schema_name, endpoints),
                              robust=True)
    return event_ids


# --- Builders: the contract's `data` of each type ---------------------------------------------


class StatusTransition(Protocol):
    """What a status change is to an event (campaigns.status.Transition has these)."""

    @property
    def campaign_id(self) -> int: ...
    @property
    def from_status(self) -> str: ...
    @property
    def to_status(self) -> str: ...
    @property
    def reasons(self) -> Sequence[str]: ...


def overshoot_text(overshoot: Mapping[str, Decimal]) -> dict[str, str]:
    """`{"campaign_daily_budget": "3.00"}`: how far past each budget, as money text."""
    return {reason: format_amount(amount) for reason, amount in sorted(overshoot.items())}


def status_change_events(
    transitions: Iterable[StatusTransition],
    *,
    at: datetime,
    cause: str,
    campaigns: Mapping[int, tuple[str, int]],
    overshoot: Mapping[int, Mapping[str, Decimal]],
) -> list[NewEvent]:
    """`campaign.paused` / `campaign.resumed` for the transitions that change the status.

    A transition that only changes the reasons (paused for one reason, then for another) is no
    event. `campaigns` maps each campaign id to (name, brand id); `overshoot` maps a campaign id
    to the budget reasons the change added and how far spend went past each (absent: `{}`).
    `data` is the history entry's, with the campaign: `{"campaign": {"id", "name", "brand"},
    "from", "to", "reasons", "cause", "at", "overshoot"}`.
    """
    events = []
    for transition in transitions:
        if transition.from_status == transition.to_status:
            continue
        name, brand_id = campaigns[transition.campaign_id]
        events.append(NewEvent(
            type=(EventType.CAMPAIGN_PAUSED if transition.to_status == PAUSED
                  else EventType.CAMPAIGN_RESUMED).value,
            data={
                "campaign": {"id": transition.campaign_id, "name": name, "brand": brand_id},
                "from": transition.from_status,
                "to": transition.to_status,
                "reasons": list(transition.reasons),
                "cause": cause,
                "at": instant_text(at),
                "overshoot": overshoot_text(overshoot.get(transition.campaign_id, {})),
            },
            created_at=at,
        ))
    return events


def threshold_events(crossings: Iterable[Crossing], *, at: datetime) -> list[NewEvent]:
    """One `budget.threshold_reached` per crossing, keyed so that it is stored only once per
    scope, budget, threshold and period."""
    return [
        NewEvent(
            type=EventType.THRESHOLD_REACHED.value,
            data={
                "scope": crossing.scope,
                "id": crossing.id,
                "budget": crossing.budget,
                "threshold": crossing.threshold,
                "limit": format_amount(crossing.limit),
                "spent": format_amount(crossing.spent),
                "period": crossing.period.isoformat() if crossing.period else None,
                "at": instant_text(at),
            },
            created_at=at,
            dedupe_key=crossing.dedupe_key,
        )
        for crossing in crossings
    ]


def webhook_disabled_event(endpoint_id: int, reason: str, *, at: datetime) -> NewEvent:
    return NewEvent(type=EventType.WEBHOOK_DISABLED.value,
                    data={"webhook": endpoint_id, "reason": reason}, created_at=at)


def webhook_test_event(endpoint_id: int, *, at: datetime) -> NewEvent:
    return NewEvent(type=EventType.WEBHOOK_TEST.value, data={"webhook": endpoint_id},
                    created_at=at, for_endpoint=endpoint_id)


# --- Retention ---------------------------------------------------------------------------------

PURGE_SQL = sql.SQL("""
WITH old AS (SELECT id FROM {event} WHERE created_at < %(before)s),
log AS (DELETE FROM {attempt} WHERE event_id IN (SELECT id FROM old)),
deliveries AS (DELETE FROM {delivery} WHERE event_id IN (SELECT id FROM old))
SELECT 1
""").format(event=sql.Identifier(Event._meta.db_table),
            attempt=sql.Identifier(DeliveryAttempt._meta.db_table),
            delivery=sql.Identifier(Delivery._meta.db_table))
PURGE_EVENTS_SQL = sql.SQL("DELETE FROM {event} WHERE created_at < %(before)s").format(
    event=sql.Identifier(Event._meta.db_table))


def purge_events(before: datetime) -> int:
    """Delete the events created before `before`, with their deliveries and their log (events
    are kept 30 days: the jobs call this with `at - RETENTION`). Returns how many events."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(PURGE_SQL, {"before": before})
        cursor.execute(PURGE_EVENTS_SQL, {"before": before})
        return int(cursor.rowcount)

"""Reads of notifications for the API and the dashboard."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import QuerySet

from notifications.models import DeliveryAttempt, Event, WebhookEndpoint

MAX_EVENTS_PAGE = 100
# The newest few of each endpoint, each from the index attempt_endpoint_newest.
LAST_ATTEMPTS_SQL = f"""
SELECT a.* FROM unnest(%s::bigint[]) AS w(id)
CROSS JOIN LATERAL (
    SELECT * FROM {DeliveryAttempt._meta.db_table} x
    WHERE x.endpoint_id = w.id ORDER BY x.id DESC LIMIT %s
) a
"""


@dataclass(frozen=True)
class EventsPage:
    events: list[Event]
    has_more: bool


def events_after(after: int, *, event_type: str | None = None,
                 limit: int = MAX_EVENTS_PAGE) -> EventsPage:
    """Events with id > `after`, in id order, at most `limit`; one query (the primary key, or
    the (type, id) index).

    Ids follow commit order (`events.record_events`), so whatever a poller sees here, every
    event below it that will ever exist is already visible: polling with `after` set to the
    last id seen misses none and sees none twice.
    """
    events = Event.objects.filter(id__gt=after)
    if event_type is not None:
        events = events.filter(type=event_type)
    rows = list(events.order_by("id")[: limit + 1])
    return EventsPage(rows[:limit], len(rows) > limit)


def delivery_log(endpoint_id: int) -> QuerySet[DeliveryAttempt]:
    """The endpoint's attempts, newest first (index attempt_endpoint_newest)."""
    return DeliveryAttempt.objects.filter(endpoint_id=endpoint_id).order_by("-id")


def last_attempts(endpoints: Sequence[WebhookEndpoint],
                  per_endpoint: int = 5) -> dict[int, list[DeliveryAttempt]]:
    """The latest attempts of each endpoint, newest first: one query for all of them."""
    if not endpoints:
        return {}
    ids = [endpoint.pk for endpoint in endpoints]
    attempts = DeliveryAttempt.objects.raw(LAST_ATTEMPTS_SQL, [ids, per_endpoint])
    by_endpoint: dict[int, list[DeliveryAttempt]] = defaultdict(list)
    for attempt in attempts:
        by_endpoint[attempt.endpoint_id].append(attempt)
    return {endpoint_id: sorted(rows, key=lambda a: -a.pk)
            for endpoint_id, rows in by_endpoint.items()}


def recent_events(limit: int = 20) -> list[Event]:
    return list(Event.objects.order_by("-id")[:limit])

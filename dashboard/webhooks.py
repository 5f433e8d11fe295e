"""What the Webhooks page shows: each endpoint with its last attempts, the brands' alert
thresholds and the recent events. Reads only, in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q

from campaigns.models import Brand
from notifications import selectors
from notifications.events import event_body
from notifications.models import EVENT_TYPES, DeliveryAttempt, Event, WebhookEndpoint
from notifications.receiver import summary

LAST_ATTEMPTS = 5
RECENT_EVENTS = 20


@dataclass(frozen=True)
class AttemptRow:
    event_id: int
    attempt: int
    at: datetime
    ok: bool
    outcome: str  # "204", or what went wrong
    latency_ms: int
    next_attempt_at: datetime | None


@dataclass(frozen=True)
class EndpointPanel:
    endpoint: WebhookEndpoint
    state: str  # "healthy", "failing" or "disabled": the badge
    state_text: str
    pending: int
    attempts: list[AttemptRow]

    @property
    def all_types(self) -> bool:
        return set(self.endpoint.event_types) >= set(EVENT_TYPES)


@dataclass(frozen=True)
class EventRow:
    id: int
    type: str
    created_at: datetime
    summary: str


@dataclass(frozen=True)
class BrandThresholds:
    brand: Brand
    text: str  # "80, 100"


@dataclass(frozen=True)
class WebhooksPage:
    at: datetime
    endpoints: list[EndpointPanel]
    brands: list[BrandThresholds]
    events: list[EventRow]


def attempt_row(attempt: DeliveryAttempt) -> AttemptRow:
    ok = attempt.error is None
    outcome = str(attempt.status_code) if ok else (attempt.error or "failed")
    return AttemptRow(attempt.event_id, attempt.attempt, attempt.at, ok, outcome,
                      attempt.duration_ms, attempt.next_attempt_at)


def endpoint_state(endpoint: WebhookEndpoint) -> tuple[str, str]:
    if not endpoint.enabled:
        reason = f": {endpoint.disabled_reason}" if endpoint.disabled_reason else ""
        return "disabled", f"Disabled{reason}"
    if endpoint.failing_since is not None:
        return "failing", f"Failing since {endpoint.failing_since:%Y-%m-%d %H:%M} UTC"
    return "healthy", "Enabled"


def build_webhooks_page(now: datetime) -> WebhooksPage:
    """Five queries whatever the number of endpoints, attempts and events."""
    endpoints = list(WebhookEndpoint.objects.order_by("id").annotate(
        pending=Count("deliveries", filter=Q(deliveries__next_attempt_at__isnull=False))))
    attempts = selectors.last_attempts(endpoints, LAST_ATTEMPTS)
    panels = []
    for endpoint in endpoints:
        state, text = endpoint_state(endpoint)
        panels.append(EndpointPanel(endpoint, state, text, endpoint.pending,
                                    [attempt_row(a) for a in attempts.get(endpoint.pk, [])]))
    brands = [BrandThresholds(brand, ", ".join(str(t) for t in brand.alert_thresholds))
              for brand in Brand.objects.order_by("name", "id")]
    return WebhooksPage(now, panels, brands, [event_row(e) for e in
                                              selectors.recent_events(RECENT_EVENTS)])


def event_row(event: Event) -> EventRow:
    body = event_body(event.pk, event.type, event.created_at, event.data)
    text = summary(body).removeprefix(event.type).strip()
    return EventRow(event.pk, event.type, event.created_at, text)

"""Notifications of one agency, in its own schema: events, webhook endpoints, deliveries.

An event is written in the transaction of its cause (`notifications.events.record_events`), and
so are the deliveries it needs: one row per endpoint and event, with the time of its next
attempt. Every attempt leaves a row in the deliveries log.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q


class EventType(models.TextChoices):
    CAMPAIGN_PAUSED = "campaign.paused"
    CAMPAIGN_RESUMED = "campaign.resumed"
    THRESHOLD_REACHED = "budget.threshold_reached"
    WEBHOOK_DISABLED = "webhook.disabled"
    WEBHOOK_TEST = "webhook.test"


EVENT_TYPES: tuple[str, ...] = tuple(EventType.values)


def all_event_types() -> list[str]:
    """An endpoint's default subscription: every type."""
    return list(EVENT_TYPES)


class Event(models.Model):
    """Something the service decided, as the events API and every delivery show it.

    Written only by `notifications.events.record_events`, whose ordering lock makes ids follow
    commit order (the events API's `after=` promise depends on it).
    """

    id = models.BigAutoField(primary_key=True)
    type = models.CharField(max_length=32, choices=EventType.choices)
    created_at = models.DateTimeField()
    data = models.JSONField()
    # Events that must exist at most once (a threshold per scope, budget and period) carry a
    # key; the unique index makes a second writer's insert a no-op.
    dedupe_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    # Set for an event meant for one endpoint only (webhook.test); no foreign key, so that
    # deleting the endpoint never turns it into an event for everyone.
    for_endpoint = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["type", "id"], name="event_type_id"),
            models.Index(fields=["created_at"], name="event_created_at"),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.type}"


class WebhookEndpoint(models.Model):
    """Where an agency wants its events POSTed, signed with a secret only it was shown."""

    url = models.CharField(max_length=2000)
    description = models.CharField(max_length=500, blank=True, default="")
    event_types = ArrayField(models.CharField(max_length=32), default=all_event_types)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField()
    # Sealed with a key derived from SECRET_KEY (notifications.vault): the service must sign
    # with the secret, so a hash would not do, and a copy of the database alone does not sign.
    secret = models.TextField()
    previous_secret = models.TextField(blank=True, default="")
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    # The first failure since the last success: 5 days after it the endpoint is disabled.
    failing_since = models.DateTimeField(null=True, blank=True)
    # Set when an attempt found the endpoint unavailable (no answer, 429, 5xx): until then its
    # new deliveries wait too, so a dead endpoint costs one attempt per wait, not one per event.
    available_at = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.url


class Delivery(models.Model):
    """One event for one endpoint: how many attempts so far and when the next one is due.

    `next_attempt_at` is None once nothing more will be tried: delivered, out of attempts, or
    the endpoint was disabled (`recover` schedules it again).
    """

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE,
                                 related_name="deliveries")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    # Not small: `recover` may send an event again any number of times.
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="delivery_endpoint_event"),
        ]
        indexes = [
            # What a sender claims: its endpoint's due deliveries, oldest due first.
            models.Index(fields=["endpoint", "next_attempt_at"], name="delivery_due_by_endpoint",
                         condition=Q(next_attempt_at__isnull=False)),
            # What the sweep asks: which endpoints have something due, and the next due time.
            models.Index(fields=["next_attempt_at"], name="delivery_due",
                         condition=Q(next_attempt_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"event {self.event_id} to endpoint {self.endpoint_id}"


class DeliveryAttempt(models.Model):
    """The deliveries log: one row per attempt, as `GET /webhooks/{id}/deliveries` shows it."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="log")
    # Copies of the delivery's, so the log of an endpoint is read newest first from one index.
    endpoint_id = models.BigIntegerField()
    event_id = models.BigIntegerField()
    attempt = models.PositiveIntegerField()
    at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField()
    # None for an attempt that was delivered, as the API shows it (an error is never empty).
    error = models.TextField(null=True, blank=True)  # noqa: DJ001
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["endpoint_id", "-id"], name="attempt_endpoint_newest")]

    def __str__(self) -> str:
        return f"event {self.event_id} attempt {self.attempt}: {self.status_code or self.error}"

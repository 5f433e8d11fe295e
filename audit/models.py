"""The agency's audit log: who changed what, when, written in the transaction of the change.

Append-only in the database itself: a trigger refuses every UPDATE, DELETE and TRUNCATE of the
table (migration 0001), so not even a bug or a shell session can rewrite history. Entries are
kept for as long as the agency exists (at least the year the contract promises).
"""

from __future__ import annotations

from django.db import models


class ActorType(models.TextChoices):
    USER = "user"
    TOKEN = "token"


class Action(models.TextChoices):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    PAUSE = "pause"
    RESUME = "resume"
    REVOKE = "revoke"


class ObjectType(models.TextChoices):
    BRAND = "brand"
    CAMPAIGN = "campaign"
    SCHEDULE = "schedule"
    TOKEN = "token"
    WEBHOOK = "webhook"


class AuditEntry(models.Model):
    at = models.DateTimeField()
    actor_type = models.CharField(max_length=5, choices=ActorType.choices)
    actor_id = models.BigIntegerField()
    actor_name = models.CharField(max_length=254)
    action = models.CharField(max_length=6, choices=Action.choices)
    object_type = models.CharField(max_length=8, choices=ObjectType.choices)
    object_id = models.BigIntegerField()
    # {"field": [old, new]}, values as the API shows them (money as decimal strings).
    changes = models.JSONField(default=dict)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["object_type", "object_id", "-id"])]

    def __str__(self) -> str:
        return f"{self.actor_name} {self.action} {self.object_type} {self.object_id}"

"""`migrate` stores the sweep's beat entry: one dispatcher every minute, for the whole platform."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.dispatch import receiver

from saas import beat

SWEEP_NAME = "webhook deliveries due, every minute"


def ensure_beat_schedule() -> None:
    beat.ensure_entry(SWEEP_NAME, "notifications.dispatch_due")


@receiver(post_migrate)
def after_migrate(sender: AppConfig, **kwargs: Any) -> None:
    if beat.is_beat_migrate(sender):
        ensure_beat_schedule()

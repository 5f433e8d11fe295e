"""`migrate` stores the beat schedule, for the whole platform: the dispatcher of due passes every
minute, and a full pass of every agency once an hour (the safety net)."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.dispatch import receiver

from saas import beat

DISPATCHER_NAME = "budget passes, every minute"
FULL_DISPATCHER_NAME = "full budget passes, hourly"
# Local midnights fall on :00, :15, :30 and :45 UTC; the full passes come between them.
FULL_PASS_MINUTE = "7"


def ensure_beat_schedule() -> None:
    beat.ensure_entry(DISPATCHER_NAME, "campaigns.dispatch_passes")
    beat.ensure_entry(FULL_DISPATCHER_NAME, "campaigns.dispatch_full_passes",
                      minute=FULL_PASS_MINUTE)


@receiver(post_migrate)
def after_migrate(sender: AppConfig, **kwargs: Any) -> None:
    if beat.is_beat_migrate(sender):
        ensure_beat_schedule()

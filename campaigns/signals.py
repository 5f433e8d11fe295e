"""`migrate` stores the beat schedule, for the whole platform: the dispatcher of due passes every
minute, and a full pass of every agency once an hour (the safety net)."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_migrate
from django.dispatch import receiver

from saas.db import connection

DISPATCHER_NAME = "budget passes, every minute"
FULL_DISPATCHER_NAME = "full budget passes, hourly"
# Local midnights fall on :00, :15, :30 and :45 UTC; the full passes come between them.
FULL_PASS_MINUTE = "7"


def ensure_beat_schedule() -> None:
    from django_celery_beat.models import CrontabSchedule

    every_minute, _ = CrontabSchedule.objects.get_or_create(
        minute="*", hour="*", day_of_week="*", day_of_month="*", month_of_year="*",
        timezone="UTC",
    )
    hourly, _ = CrontabSchedule.objects.get_or_create(
        minute=FULL_PASS_MINUTE, hour="*", day_of_week="*", day_of_month="*",
        month_of_year="*", timezone="UTC",
    )
    _ensure_entry(DISPATCHER_NAME, "campaigns.dispatch_passes", every_minute)
    _ensure_entry(FULL_DISPATCHER_NAME, "campaigns.dispatch_full_passes", hourly)


def _ensure_entry(name: str, task_name: str, crontab: Any) -> None:
    from django_celery_beat.models import PeriodicTask

    wanted = {"task": task_name, "crontab": crontab, "enabled": True, "expire_seconds": 55}
    task, created = PeriodicTask.objects.get_or_create(name=name, defaults=wanted)
    if not created and any(getattr(task, key) != value for key, value in wanted.items()):
        for key, value in wanted.items():
            setattr(task, key, value)
        task.save()  # only when it differs: a second `migrate` changes nothing


@receiver(post_migrate)
def after_migrate(sender: AppConfig, **kwargs: Any) -> None:
    if sender.name != "django_celery_beat":
        return
    if connection.schema_name != settings.PUBLIC_SCHEMA_NAME:
        return
    ensure_beat_schedule()

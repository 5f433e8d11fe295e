"""`migrate` stores the sweep's beat entry: one dispatcher every minute, for the whole platform."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_migrate
from django.dispatch import receiver

from saas.db import connection

SWEEP_NAME = "webhook deliveries due, every minute"


def ensure_beat_schedule() -> None:
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    every_minute, _ = CrontabSchedule.objects.get_or_create(
        minute="*", hour="*", day_of_week="*", day_of_month="*", month_of_year="*",
        timezone="UTC",
    )
    wanted = {"task": "notifications.dispatch_due", "crontab": every_minute, "enabled": True,
              "expire_seconds": 55}
    task, created = PeriodicTask.objects.get_or_create(name=SWEEP_NAME, defaults=wanted)
    if not created and any(getattr(task, name) != value for name, value in wanted.items()):
        for name, value in wanted.items():
            setattr(task, name, value)
        task.save()  # only when it differs: a second `migrate` changes nothing


@receiver(post_migrate)
def after_migrate(sender: AppConfig, **kwargs: Any) -> None:
    if sender.name != "django_celery_beat":
        return
    if connection.schema_name != settings.PUBLIC_SCHEMA_NAME:
        return
    ensure_beat_schedule()

"""The beat schedule's entries, stored by `migrate` (django-celery-beat's DatabaseScheduler reads
them): each app names its entries, this keeps them as named, changing a row only when it
differs, so a second `migrate` changes nothing."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from saas.db import connection

EXPIRE_SECONDS = 55  # a dispatcher left in the queue past its minute is dropped: the next runs


def is_beat_migrate(sender: Any) -> bool:
    """Whether a post_migrate signal is the one after which the schedule is stored: the beat
    app's, in the public schema (its tables live only there)."""
    return bool(sender.name == "django_celery_beat"
                and connection.schema_name == settings.PUBLIC_SCHEMA_NAME)


def ensure_entry(name: str, task_name: str, *, minute: str = "*") -> None:
    """An enabled entry `name` sending `task_name` at `minute` of every UTC hour (`*`: every
    minute)."""
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute=minute, hour="*", day_of_week="*", day_of_month="*", month_of_year="*",
        timezone="UTC",
    )
    wanted = {"task": task_name, "crontab": crontab, "enabled": True,
              "expire_seconds": EXPIRE_SECONDS}
    task, created = PeriodicTask.objects.get_or_create(name=name, defaults=wanted)
    if not created and any(getattr(task, key) != value for key, value in wanted.items()):
        for key, value in wanted.items():
            setattr(task, key, value)
        task.save()

"""The budget control service: settings, URLs, Celery app and the embedded dev servers."""

from saas.celery import app as celery_app

__all__ = ["celery_app"]

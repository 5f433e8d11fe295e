"""The Celery app `saas`.

`CeleryApp` from tenant-schemas-celery carries the current schema in every task's headers and
switches the worker's connection to it before the task runs: a plain `Celery()` would run every
task in the public schema.
"""

import os

from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")

app = CeleryApp("saas")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

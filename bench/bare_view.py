"""The issue's "bare view" baseline for `bench/ingest.py`: Django with no middleware, no apps and
one view that sends pgbench's two statements (insert the event, upsert its daily total) through a
raw cursor in one transaction. It is what any Django service pays before doing its own work.

    BENCH_SCHEMA=<scratch schema> DATABASE_URL=... gunicorn bench.bare_view:application
"""

from __future__ import annotations

import json
import os

import dj_database_url
from django.conf import settings

settings.configure(
    DEBUG=False, ROOT_URLCONF=__name__, ALLOWED_HOSTS=["*"], MIDDLEWARE=[], INSTALLED_APPS=[],
    DATABASES={"default": dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=600)},
)

import django  # noqa: E402

django.setup()

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.urls import path  # noqa: E402

SCHEMA = os.environ["BENCH_SCHEMA"]
INSERT_SQL = f"""
INSERT INTO "{SCHEMA}".spend (campaign_id, amount, occurred_at, local_day, event_id, request_hash,
    created_at)
VALUES (%s, %s, now(), current_date, %s, '', now())
"""
UPSERT_SQL = f"""
INSERT INTO "{SCHEMA}".total (campaign_id, period, period_start, amount)
VALUES (%s, 'd', current_date, %s)
ON CONFLICT (campaign_id, period, period_start)
DO UPDATE SET amount = total.amount + EXCLUDED.amount
"""


def spend(request: HttpRequest) -> HttpResponse:
    event = json.loads(request.body)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(INSERT_SQL, [event["campaign"], event["amount"], event["event_id"]])
        cursor.execute(UPSERT_SQL, [event["campaign"], event["amount"]])
    return HttpResponse(b'{"stored": true}', status=201, content_type="application/json")


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"ok")  # what the bench waits for before it starts


urlpatterns = [path("api/v1/spend", spend), path("healthz", healthz)]
application = get_wsgi_application()

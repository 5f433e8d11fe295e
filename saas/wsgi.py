"""WSGI entry point: `gunicorn saas.wsgi:application`.

Spend is offered to its fast path first (`campaigns.api.fast_spend`); every other request, and
every spend that path declines, goes through Django.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")
os.environ.setdefault("SAAS_WEB_PROCESS", "1")  # web connections get their timeouts (settings)

django_application = get_wsgi_application()

from django.db import close_old_connections  # noqa: E402  (after setup)

from campaigns.api import fast_spend  # noqa: E402
from saas.db import connection  # noqa: E402

logger = logging.getLogger(__name__)


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    try:
        answered = fast_spend.answer(environ)
    except Exception as exc:
        answered = fast_spend.error(environ, exc)
    if answered is None:  # Django's own request cycle looks after the connection
        return django_application(environ, start_response)
    _finish_request()
    status, headers, content = answered
    start_response(f"{status} {HTTPStatus(status).phrase}", headers)
    return [content]


def _finish_request() -> None:
    """What Django does when a request ends (its connection kept or closed by CONN_MAX_AGE and
    errors). No health check is owed to the next fast request: its first query is read-only and
    a dead connection there sends the request to Django on a new one."""
    try:
        close_old_connections()
    except Exception:
        logger.exception("Could not end a request's database connection")
        return
    if connection.connection is not None:
        connection.health_check_done = True

"""A database connection serves at most `DATABASE_SCHEMAS_PER_CONNECTION` agencies (default 100),
then it is closed and the next query opens a fresh one.

PostgreSQL keeps, per backend, the catalog entries and the prepared plans of every schema the
backend has used (about 141 kB an agency, measured by `bench/scale.py`), and frees them only when
the backend ends. A web or Celery process that serves every agency would otherwise grow its
backend with the number of agencies; with this, a backend's memory is bounded by the limit,
whatever the number of agencies. Reconnecting costs a few milliseconds once per that many agency
switches. It is django-tenants' own hook (`EXTRA_SET_TENANT_METHOD_PATH`), called at every
`set_tenant`; a connection inside a transaction is never closed.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from psycopg.pq import TransactionStatus

DEFAULT_LIMIT = 100


def limit_schemas(wrapper: Any, tenant: Any) -> None:
    """Count the schema the connection is switched to; past the limit, close the connection."""
    schema = tenant.schema_name
    if schema == settings.PUBLIC_SCHEMA_NAME:
        return
    served: tuple[Any, set[str]] | None = getattr(wrapper, "_schemas_served", None)
    if served is None or served[0] is not wrapper.connection:
        served = (wrapper.connection, set())  # a new connection starts counting afresh
    if schema not in served[1] and len(served[1]) >= _limit() and _idle(wrapper):
        wrapper.close()
        served = (None, set())
    served[1].add(schema)
    wrapper._schemas_served = served


def _limit() -> int:
    return int(getattr(settings, "DATABASE_SCHEMAS_PER_CONNECTION", DEFAULT_LIMIT))


def _idle(wrapper: Any) -> bool:
    return (wrapper.connection is not None and not wrapper.in_atomic_block
            and wrapper.connection.info.transaction_status == TransactionStatus.IDLE)

"""When the sweep must next look at an agency: `DeliveryDue` in the public schema.

The statements that schedule deliveries (new events, retries, `recover`) lower the agency's
`due_at` to the earliest delivery they scheduled, in the same statement or transaction, and bump
`version`. Only the sweep raises it again, to the earliest delivery still pending, and only if
`version` is still the one it read before looking: a delivery scheduled meanwhile (committed or
not) has bumped it, or holds the row's lock until it commits and then has, so the raise is
skipped and the marker stays low. The marker may be too early (a sweep that finds nothing),
never too late.

The dispatcher reads all due agencies with one indexed query a minute; an agency with nothing
pending costs nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from psycopg import sql

from notifications.models import Delivery, WebhookEndpoint
from notifications.shared.models import DeliveryDue
from saas.db import connection
from tenants.models import Agency

DUE_TABLE = sql.Identifier("public", DeliveryDue._meta.db_table)
AGENCY_TABLE = sql.Identifier("public", Agency._meta.db_table)
DELIVERY_TABLE = sql.Identifier(Delivery._meta.db_table)
ENDPOINT_TABLE = sql.Identifier(WebhookEndpoint._meta.db_table)


def lower_due(source: str) -> sql.Composed:
    """An INSERT ... ON CONFLICT that lowers this agency's marker to the earliest
    `next_attempt_at` of the CTE or table `source` (nothing when it has none).

    Takes the parameter %(schema)s: the agency's schema name.
    """
    return sql.SQL("""
    INSERT INTO {due} AS d (agency_id, due_at, version)
    SELECT a.id, s.due_at, 1
    FROM {agency} a, (SELECT min(next_attempt_at) AS due_at FROM {source}) s
    WHERE a.schema_name = %(schema)s AND s.due_at IS NOT NULL
    ON CONFLICT (agency_id) DO UPDATE
    SET due_at = LEAST(d.due_at, EXCLUDED.due_at), version = d.version + 1
    """).format(due=DUE_TABLE, agency=AGENCY_TABLE, source=sql.Identifier(source))


LOWER_TO_TIMES_SQL = sql.SQL("""
WITH scheduled AS (SELECT unnest(%(times)s::timestamptz[]) AS next_attempt_at)
{lower}
""").format(lower=lower_due("scheduled"))


def lower_to(times: Iterable[datetime]) -> None:
    """Lower this agency's marker to the earliest of `times` (deliveries just scheduled)."""
    times = list(times)
    if not times:
        return
    with connection.cursor() as cursor:
        cursor.execute(LOWER_TO_TIMES_SQL, {"times": times, "schema": connection.schema_name})


def due_agencies(now: datetime) -> list[str]:
    """The schemas of the agencies with a delivery due at `now`: one query for all agencies."""
    return DeliveryDue.due_schemas(now)


VERSION_SQL = sql.SQL("""
SELECT d.version FROM {due} d JOIN {agency} a ON a.id = d.agency_id
WHERE a.schema_name = %(schema)s
""").format(due=DUE_TABLE, agency=AGENCY_TABLE)
# A disabled endpoint's deliveries wait for nothing: they go out only after `recover`.
DUE_ENDPOINTS_SQL = sql.SQL("""
SELECT DISTINCT d.endpoint_id FROM {delivery} d JOIN {endpoint} w ON w.id = d.endpoint_id
WHERE d.next_attempt_at <= %(now)s AND w.enabled
""").format(delivery=DELIVERY_TABLE, endpoint=ENDPOINT_TABLE)  # index delivery_due
# Compare-and-set: raised only if nothing was scheduled since `version` was read.
RAISE_SQL = sql.SQL("""
UPDATE {due} d SET due_at = (
    SELECT min(p.next_attempt_at) FROM {delivery} p JOIN {endpoint} w ON w.id = p.endpoint_id
    WHERE p.next_attempt_at IS NOT NULL AND w.enabled)
FROM {agency} a
WHERE a.id = d.agency_id AND a.schema_name = %(schema)s AND d.version = %(version)s
""").format(due=DUE_TABLE, delivery=DELIVERY_TABLE, endpoint=ENDPOINT_TABLE,
            agency=AGENCY_TABLE)


@dataclass(frozen=True)
class Sweep:
    """What the sweep of one agency found: the endpoints with deliveries due now."""

    endpoints: list[int]
    raised: bool  # the marker now says when the next pending delivery is due


def sweep(now: datetime) -> Sweep:
    """The endpoints of this agency with deliveries due at `now`, and the marker moved on to
    the earliest pending delivery (due ones included: until they are sent, each minute's
    sweep hands them out again). Three queries.
    """
    version = marker_version()
    endpoints = due_endpoints(now)
    return Sweep(endpoints, version is not None and raise_marker(version))


def marker_version() -> int | None:
    """The version of this agency's marker, read before looking at its deliveries."""
    with connection.cursor() as cursor:
        cursor.execute(VERSION_SQL, {"schema": connection.schema_name})
        row = cursor.fetchone()
    return None if row is None else int(row[0])


def due_endpoints(now: datetime) -> list[int]:
    """The enabled endpoints of this agency with a delivery due at `now`."""
    with connection.cursor() as cursor:
        cursor.execute(DUE_ENDPOINTS_SQL, {"now": now})
        return sorted(endpoint for (endpoint,) in cursor.fetchall())


def raise_marker(version: int) -> bool:
    """Move the marker to the earliest pending delivery, unless a delivery was scheduled since
    `version` was read (then it stays as low as that one put it). True if it moved."""
    with connection.cursor() as cursor:
        cursor.execute(RAISE_SQL, {"schema": connection.schema_name, "version": version})
        return cursor.rowcount == 1

"""The periodic work for one agency: budget check, dayparting and the daily and monthly resets.

They are one pass, because they are one question: at this instant, which campaigns may run?
A new local day or month simply has no spend yet, so the reasons of the old one are gone; a
window that opened simply contains the instant. The pass is set-based (a fixed number of
queries whatever the number of brands and campaigns), and idempotent: run twice or late, it
leaves the same statuses and writes history only for real changes. Each status change is an
event, recorded at the end of the pass's transaction; the first pass of each UTC hour also
deletes the events past their 30 days.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import OperationalError, transaction
from psycopg.errors import LockNotAvailable

from campaigns import status
from campaigns.models import Cause
from notifications.events import RETENTION, purge_events
from saas.db import connection

logger = logging.getLogger(__name__)
LOCK_TIMEOUT = "10s"


@dataclass
class PassResult:
    schema: str
    at: datetime
    transitions: list[status.Transition] = field(default_factory=list)
    skipped: bool = False  # another pass for this agency held the lock


def run_pass(at: datetime) -> PassResult:
    """One pass for the agency whose schema the connection is in."""
    result = PassResult(schema=connection.schema_name, at=at)
    with transaction.atomic():
        if not _lock_pass(result.schema):
            result.skipped = True
            return result
        decision = status.decide_brands(at, cause=Cause.JOB, brands=status.lock_brands(None))
        status.publish(decision)
        result.transitions = decision.transitions
    if purge_due(at):
        purge_events(at - RETENTION)
    return result


def purge_due(at: datetime) -> bool:
    """Whether this pass also deletes the events older than their 30 days: the first pass of
    each UTC hour. Once a minute would run its statements for every agency every minute to
    delete a minute's worth; once an hour deletes an hour's worth (events are kept at least
    30 days, at most an hour more), and a pass that misses the minute leaves it to the next
    hour."""
    return at.astimezone(UTC).minute == 0


def _lock_pass(schema: str) -> bool:
    """Two passes for one agency never interleave; a pass that waits too long gives up (the
    next minute's pass does the same work)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        try:
            with transaction.atomic():  # a savepoint: a timed-out wait leaves the rest usable
                cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"jobs:{schema}"])
        except OperationalError as exc:
            if not isinstance(exc.__cause__, LockNotAvailable):
                raise
            logger.warning("pass for %s skipped: another pass holds its lock", schema)
            return False
    return True

"""The periodic work for one agency: budget check, dayparting and the daily and monthly resets.

They are one pass, because they are one question: at this instant, which campaigns may run?
A new local day or month simply has no spend yet, so the reasons of the old one are gone; a
window that opened simply contains the instant. The pass is set-based (a fixed number of
queries whatever the number of brands and campaigns), and idempotent: run twice or late, it
leaves the same statuses and writes history only for real changes. Each status change is an
event, recorded at the end of the pass's transaction.

A pass looks at every brand (`run_jobs`, the hourly safety net) or only at the brands with a
campaign due (`only_due`, what the minute's dispatcher sends): those whose `next_change_at` is
reached, or never set. Either way the brands it looks at are decided whole, at the pass's
instant, exactly as the full pass decides them (brand sums need all their campaigns), so a
late pass decides as a timely one. Then it sets the agency's marker to the earliest
`next_change_at` of all its campaigns (`campaigns.due`). A full pass also deletes the events
past their 30 days.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.db import OperationalError, transaction
from psycopg.errors import LockNotAvailable

from campaigns import due, selectors, status
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
    brands: int = 0  # how many brands it decided


def run_pass(at: datetime, *, only_due: bool = False) -> PassResult:
    """One pass for the agency whose schema the connection is in: every brand, or only those
    with a campaign due at `at`."""
    result = PassResult(schema=connection.schema_name, at=at)
    with transaction.atomic():
        if not _lock_pass(result.schema):
            result.skipped = True
            return result
        version = due.marker_version()  # before looking: see campaigns.due
        brands = (selectors.due_brand_rows(at, lock=True) if only_due
                  else status.lock_brands(None))
        decision = status.decide_brands(at, cause=Cause.JOB, brands=brands, lower_marker=False)
        status.publish(decision)
        result.transitions = decision.transitions
        result.brands = len(brands)
        due.raise_marker(at, version)
    if not only_due:
        purge_events(at - RETENTION)
    return result



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

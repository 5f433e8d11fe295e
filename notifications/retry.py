"""When a failed delivery is tried again, and when an endpoint is given up on. Pure: the instant
is passed in and the jitter comes from the caller's random source.

The contract's schedule: after a failure, again about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and
10 h later (eight attempts in all over about 28 hours), each delay stretched by up to 10 %
so that endpoints that failed together do not all come back in the same second, and never
sooner than a 429's or 503's `Retry-After` asks.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

RETRY_DELAYS = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
JITTER = 0.10
DISABLE_AFTER = timedelta(days=5)
GONE = 410


def next_attempt_at(
    attempt_number: int,
    now: datetime,
    *,
    retry_after: timedelta | None,
    rng: random.Random,
) -> datetime | None:
    """When to try again after attempt `attempt_number` (1 for the first) failed at `now`;
    None when that was the last attempt."""
    if attempt_number < 1:
        raise ValueError("attempts are numbered from 1")
    if attempt_number > len(RETRY_DELAYS):
        return None
    delay = RETRY_DELAYS[attempt_number - 1] * (1 + rng.uniform(0, JITTER))
    if retry_after is not None:
        delay = max(delay, retry_after)
    return now + delay


UNAVAILABLE_WAIT_MIN = RETRY_DELAYS[0]
UNAVAILABLE_WAIT_MAX = timedelta(minutes=1)


def unavailable_wait(failing_for: timedelta, *, retry_after: timedelta | None) -> timedelta:
    """How long an endpoint that did not answer (or answered 429 or a 5xx) is left alone before
    the next try: a quarter of how long it has been failing, from 5 s up to a minute (the
    sweep's period), and never less than its Retry-After. Its deliveries wait meanwhile without
    spending attempts, so a dead endpoint is tried at most once a minute, not once per event,
    and a revived one gets everything within a minute."""
    wait = min(max(failing_for / 4, UNAVAILABLE_WAIT_MIN), UNAVAILABLE_WAIT_MAX)
    if retry_after is not None:
        wait = max(wait, retry_after)
    return wait


def should_disable(first_failure_at: datetime | None, now: datetime) -> bool:
    """True once an endpoint has gone 5 days without a success: `first_failure_at` is its first
    failure since its last success (None while it has not failed since)."""
    return first_failure_at is not None and now - first_failure_at >= DISABLE_AFTER


def is_gone(status_code: int | None) -> bool:
    """410 Gone: the endpoint says it no longer exists, and is disabled at once."""
    return status_code == GONE

"""The retry schedule: about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h after each failure,
up to 10 % later, never sooner than Retry-After; disabled after 5 days or a 410."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from notifications.retry import (
    MAX_ATTEMPTS,
    is_gone,
    next_attempt_at,
    should_disable,
    unavailable_wait,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
NOMINAL = [
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
]


@pytest.mark.parametrize(("attempt", "nominal"), list(enumerate(NOMINAL, start=1)))
def test_each_failure_is_retried_after_its_delay_and_at_most_10_percent_more(
    attempt: int, nominal: timedelta
) -> None:
    rng = random.Random(attempt)
    delays = [
        next_attempt_at(attempt, NOW, retry_after=None, rng=rng) - NOW  # type: ignore[operator]
        for _ in range(200)
    ]

    assert all(nominal <= delay <= nominal * 1.1 for delay in delays)
    assert max(delays) - min(delays) > nominal * 0.05  # jitter spreads endpoints out


def test_there_is_no_attempt_after_the_eighth() -> None:
    assert MAX_ATTEMPTS == 8
    assert next_attempt_at(8, NOW, retry_after=None, rng=random.Random(1)) is None
    assert next_attempt_at(8, NOW, retry_after=timedelta(seconds=1), rng=random.Random(1)) is None


def test_the_whole_schedule_spans_a_little_over_a_day() -> None:
    rng, at, attempt = random.Random(3), NOW, 1
    while (following := next_attempt_at(attempt, at, retry_after=None, rng=rng)) is not None:
        at, attempt = following, attempt + 1

    assert attempt == 8
    assert timedelta(hours=27, minutes=35) <= at - NOW <= timedelta(hours=30, minutes=20)


def test_a_longer_retry_after_postpones_the_next_attempt_to_exactly_then() -> None:
    wait = timedelta(minutes=2)

    assert next_attempt_at(1, NOW, retry_after=wait, rng=random.Random(1)) == NOW + wait


def test_a_shorter_retry_after_does_not_bring_the_next_attempt_forward() -> None:
    at = next_attempt_at(4, NOW, retry_after=timedelta(seconds=30), rng=random.Random(1))

    assert at is not None
    assert at - NOW >= timedelta(hours=2)


def test_attempts_are_numbered_from_one() -> None:
    with pytest.raises(ValueError):
        next_attempt_at(0, NOW, retry_after=None, rng=random.Random(1))


def test_an_endpoint_is_disabled_after_five_days_without_a_success() -> None:
    assert not should_disable(None, NOW)
    assert not should_disable(NOW - timedelta(days=5) + timedelta(seconds=1), NOW)
    assert should_disable(NOW - timedelta(days=5), NOW)
    assert should_disable(NOW - timedelta(days=9), NOW)


def test_410_gone_disables_at_once_and_nothing_else_does() -> None:
    assert is_gone(410)
    assert not any(is_gone(status) for status in (None, 200, 404, 429, 500, 503))


@pytest.mark.parametrize(("failing_for", "wait"), [
    (timedelta(0), timedelta(seconds=5)),
    (timedelta(seconds=20), timedelta(seconds=5)),
    (timedelta(seconds=60), timedelta(seconds=15)),
    (timedelta(minutes=4), timedelta(minutes=1)),
    (timedelta(days=3), timedelta(minutes=1)),
])
def test_an_unavailable_endpoint_is_left_alone_longer_the_longer_it_fails(
    failing_for: timedelta, wait: timedelta
) -> None:
    assert unavailable_wait(failing_for, retry_after=None) == wait


def test_an_unavailable_endpoints_retry_after_is_respected_even_past_the_minute() -> None:
    assert unavailable_wait(timedelta(0), retry_after=timedelta(minutes=10)) == timedelta(
        minutes=10)


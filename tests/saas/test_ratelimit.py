"""`saas.ratelimit` on a real Redis: bursts, refusals with their wait, refunds, fail-open."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from saas import ratelimit
from saas.embedded import free_port, start_redis


def fresh_key() -> str:
    return f"test:{uuid.uuid4().hex}"


@pytest.mark.parametrize("text, rate", [
    ("10/hour", ratelimit.Rate(10, 3600)), ("1000/second", ratelimit.Rate(1000, 1)),
    (" 5 / minute ", ratelimit.Rate(5, 60)), ("1/day", ratelimit.Rate(1, 86400)),
])
def test_rates_are_read_from_their_text(text: str, rate: ratelimit.Rate) -> None:
    assert ratelimit.Rate.parse(text) == rate


@pytest.mark.parametrize("text", ["", "10", "0/hour", "-1/hour", "10/week", "1.5/second"])
def test_a_rate_that_is_no_rate_is_a_configuration_error(text: str) -> None:
    with pytest.raises(ImproperlyConfigured):
        ratelimit.Rate.parse(text)


def test_a_burst_of_the_whole_quota_then_a_refusal_with_its_wait() -> None:
    key, rate = fresh_key(), ratelimit.Rate(3, 3600)
    quotas = [ratelimit.take(key, rate) for _ in range(4)]

    assert [q.allowed for q in quotas if q] == [True, True, True, False]
    assert [q.remaining for q in quotas if q][:3] == [2, 1, 0]
    refused = quotas[3]
    assert refused is not None and refused.limit == 3
    assert 1190 <= refused.retry_after <= 1200  # one unit comes back every 20 minutes
    assert 3590 <= refused.reset <= 3600


def test_a_unit_given_back_can_be_taken_again() -> None:
    key, rate = fresh_key(), ratelimit.Rate(1, 3600)
    assert ratelimit.take(key, rate).allowed  # type: ignore[union-attr]
    ratelimit.give_back(key, rate)
    assert ratelimit.take(key, rate).allowed  # type: ignore[union-attr]
    assert not ratelimit.take(key, rate).allowed  # type: ignore[union-attr]


def test_counted_work_that_fails_is_not_counted() -> None:
    key, rate = fresh_key(), ratelimit.Rate(1, 3600)
    with pytest.raises(ValueError), ratelimit.counted(key, rate):
        raise ValueError("refused signup")
    with ratelimit.counted(key, rate):
        pass
    with pytest.raises(ratelimit.RateLimited), ratelimit.counted(key, rate):
        pytest.fail("past the rate, the block must not run")


def test_leases_a_caller_did_not_use_go_back_to_its_quota() -> None:
    """Ten processes serving one slow token: each lease runs out unused before its process sees
    the token again. Without the return every request would cost a whole lease (100 units) and
    the quota of 5,000 would be gone in six rounds."""
    key, rate = fresh_key(), ratelimit.Rate(5000, 1)
    processes = [ratelimit.Leases() for _ in range(10)]
    for leases in processes:
        leases.LEASE_SECONDS = 0.02
    allowed = []
    for _ in range(30):
        allowed += [bool(quota and quota.allowed) for quota in
                    (leases.take(key, rate) for leases in processes)]
        time.sleep(0.025)  # longer than a lease lasts
    assert allowed == [True] * 300


def test_a_sequential_caller_asks_redis_once_a_lease(monkeypatch: pytest.MonkeyPatch) -> None:
    """100 requests a second against 1,000 a second: a lease of 20 units serves 20 requests,
    not the two that fit in the 20 ms those units stand for."""
    calls = []
    real_call = ratelimit._call

    def counted_call(*args: Any) -> Any:
        calls.append(args)
        return real_call(*args)

    monkeypatch.setattr(ratelimit, "_call", counted_call)
    key, rate, leases = fresh_key(), ratelimit.Rate(1000, 1), ratelimit.Leases()
    for _ in range(40):
        assert leases.take(key, rate).allowed  # type: ignore[union-attr]
        time.sleep(0.005)
    assert len(calls) == 2


@pytest.fixture
def stopped_redis(tmp_path: Path, settings: Any) -> Iterator[None]:
    port = free_port()
    process = start_redis(tmp_path, port)
    settings.REDIS_URL = f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(timeout=10)
    ratelimit._breaker.down_until = 0.0
    yield
    ratelimit._breaker.down_until = 0.0


def test_with_redis_down_the_limiter_fails_open_and_stops_asking(stopped_redis: None) -> None:
    key, rate = fresh_key(), ratelimit.Rate(1, 3600)
    assert ratelimit.take(key, rate) is None
    assert ratelimit._breaker.is_open()  # the next requests do not wait on Redis again
    with ratelimit.counted(key, rate), ratelimit.counted(key, rate):
        pass


@pytest.mark.parametrize("address, group", [
    ("203.0.113.9", "203.0.113.9"),
    ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
    ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),
    ("::ffff:203.0.113.9", "203.0.113.9"),
    ("", ""),
])
def test_a_client_is_held_to_its_address_or_its_ipv6_64(address: str, group: str) -> None:
    from saas.clients import address_group

    assert address_group(address) == group


def test_a_rate_that_is_no_rate_fails_the_system_checks(settings: Any) -> None:
    from saas.checks import rates_are_rates

    settings.SIGNUP_RATE = "10/hr"
    (error,) = rates_are_rates()
    assert "SIGNUP_RATE" in error.msg

"""Request rates shared by every web process: a generic cell rate algorithm (GCRA) in Redis.

Each key stores one number, the instant its quota is next whole again (the "theoretical
arrival time"); one script call takes a unit or refuses, atomically, on Redis' own clock, so
every gunicorn worker on every machine counts against the same quota. A rate of N per period
allows bursts of N and then one request every period / N.

Redis down: the limiter fails open (requests are served, `/healthz` reports the broker down) and
does not try again for a few seconds, so an unreachable Redis costs no time per request.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import redis
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from saas.errors import TooManyRequests

PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
RATE_PATTERN = re.compile(r"^\s*([0-9]+)\s*/\s*(second|minute|hour|day)\s*$")
KEY_PREFIX = "ratelimit:"
REDIS_TIMEOUT = 0.25  # seconds: a limiter must never be what makes a request slow
RETRY_REDIS_AFTER = 5.0  # seconds without trying once Redis failed

# KEYS[1]: the key. ARGV: microseconds per unit, microseconds of the whole quota, units wanted
# (negative: give that many back), units returned first (a lease's unused ones). Takes as many
# of the wanted units as the quota has room for, at least one or none. Returns {units taken,
# backlog}: how far (microseconds) the quota's next whole instant lies after now, as stored.
GCRA_SCRIPT = """
local interval = tonumber(ARGV[1])
local quota = tonumber(ARGV[2])
local wanted = tonumber(ARGV[3])
local returned = tonumber(ARGV[4] or 0)
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now) - interval * returned
if tat < now then tat = now end
local taken = 0
if wanted > 0 then
    taken = math.min(wanted, math.floor((quota - (tat - now)) / interval))
    if taken < 1 then wanted = 0 end
end
local new_tat = tat + interval * (wanted > 0 and taken or wanted)
if new_tat <= now then
    redis.call('DEL', KEYS[1])
    return {taken, 0}
end
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil((new_tat - now) / 1000))
return {taken, new_tat - now}
"""


@dataclass(frozen=True)
class Rate:
    count: int
    period: int  # seconds

    @classmethod
    def parse(cls, text: str) -> Rate:
        """`N/second`, `N/minute`, `N/hour` or `N/day`, N at least 1."""
        match = RATE_PATTERN.match(text)
        if not match or int(match.group(1)) < 1:
            raise ImproperlyConfigured(
                f"Not a rate: {text!r}. Use N/second, N/minute, N/hour or N/day.")
        return cls(int(match.group(1)), PERIODS[match.group(2)])

    @property
    def interval_us(self) -> int:
        return self.period * 1_000_000 // self.count

    @property
    def quota_us(self) -> int:
        return self.period * 1_000_000


@dataclass(frozen=True)
class Quota:
    """One request's standing against its rate (the `RateLimit-*` headers)."""

    allowed: bool
    limit: int
    remaining: int
    reset: int  # seconds until the whole quota is back
    retry_after: int  # seconds until a refused request would be allowed; 0 when allowed


class RateLimited(TooManyRequests):
    """Past the rate: answered 429 with Retry-After, and nothing is done."""

    def __init__(self, quota: Quota, message: str | None = None) -> None:
        super().__init__(message or f"Too many requests; try again in {quota.retry_after} s.",
                         retry_after=quota.retry_after)
        self.quota = quota


class _Breaker:
    """Remembers that Redis failed, so the next few seconds do not wait on it again."""

    down_until = 0.0

    def is_open(self) -> bool:
        return time.monotonic() < self.down_until

    def trip(self) -> None:
        self.down_until = time.monotonic() + RETRY_REDIS_AFTER


_breaker = _Breaker()


@lru_cache(maxsize=4)
def _script(url: str) -> Any:
    client = redis.Redis.from_url(url, socket_timeout=REDIS_TIMEOUT,
                                  socket_connect_timeout=REDIS_TIMEOUT)
    return client.register_script(GCRA_SCRIPT)


def _call(key: str, rate: Rate, wanted: int, returned: int = 0) -> tuple[int, int] | None:
    if _breaker.is_open():
        return None
    try:
        taken, backlog = _script(settings.REDIS_URL)(
            keys=[KEY_PREFIX + key], args=[rate.interval_us, rate.quota_us, wanted, returned])
    except (redis.RedisError, OSError):
        _breaker.trip()
        return None
    return int(taken), int(backlog)


def _quota(rate: Rate, taken: int, backlog: int, *, held: int = 0) -> Quota:
    """The standing after a call that took `taken` units, `held` of them still unused here."""
    if not taken:
        wait = math.ceil((backlog + rate.interval_us - rate.quota_us) / 1_000_000)
        return Quota(False, rate.count, 0, math.ceil(backlog / 1_000_000), max(1, wait))
    remaining = (rate.quota_us - backlog) // rate.interval_us + held
    return Quota(True, rate.count, int(remaining), math.ceil(backlog / 1_000_000), 0)


def take(key: str, rate: Rate) -> Quota | None:
    """Take one unit of `key`'s quota; None when Redis cannot say (fail open)."""
    answer = _call(key, rate, 1)
    return None if answer is None else _quota(rate, *answer)


def give_back(key: str, rate: Rate) -> None:
    """Return a unit taken for work that did not happen (a refused signup)."""
    _call(key, rate, -1)


@dataclass
class _Lease:
    units: int  # taken from Redis, not used yet
    remaining: int  # the quota's room after the lease was taken
    reset: int
    expires: float  # monotonic; unused units go back to the quota with the next call


class Leases:
    """Units taken from Redis ahead, per key, for one process: a high rate (1,000 a second)
    costs one Redis call per lease instead of one per request.

    A lease is at most 1/50 of the rate. Its units are Redis' already (the quota counted them
    when it leased them), so the shared limit holds however long a process keeps them, to within
    one lease per process of where the units are used; the units a lease did not use within
    `LEASE_SECONDS` go back to the quota with the next call for that key (a caller slower than
    the lease would otherwise use up its quota twenty times as fast as it calls, and a lease
    as short as the units stand for, 20 ms at 1,000 a second, made nearly every request of a
    sequential client a Redis call). A low rate (signups, tests) leases one unit at a time,
    which is exact. `Quota.remaining` counts the units held as available.
    """

    SHARE = 50
    LEASE_SECONDS = 1.0
    MAX_KEYS = 10_000

    def __init__(self) -> None:
        self._leases: dict[str, _Lease] = {}
        self._lock = threading.Lock()  # gthread workers share a process's leases

    def take(self, key: str, rate: Rate) -> Quota | None:
        with self._lock:
            lease = self._leases.pop(key, None)
            if lease is not None and lease.units and time.monotonic() < lease.expires:
                lease.units -= 1
                self._leases[key] = lease
                return Quota(True, rate.count, lease.remaining + lease.units, lease.reset, 0)
        unused = lease.units if lease is not None else 0
        wanted = max(1, rate.count // self.SHARE)
        answer = _call(key, rate, wanted, unused)
        if answer is None:
            return None
        taken, backlog = answer
        quota = _quota(rate, taken, backlog, held=max(0, taken - 1))
        if taken > 1:
            with self._lock:
                self._keep(key, _Lease(taken - 1, quota.remaining - (taken - 1), quota.reset,
                                       time.monotonic() + self.LEASE_SECONDS))
        return quota

    def _keep(self, key: str, lease: _Lease) -> None:
        if len(self._leases) >= self.MAX_KEYS:
            self._leases.clear()  # dropped units come back to the quota as it refills
        self._leases[key] = lease


@contextmanager
def counted(key: str, rate: Rate) -> Iterator[Quota | None]:
    """Count the block's work against `key`: RateLimited before it when past the rate, and the
    unit given back when the block fails, so only work done is counted."""
    quota = take(key, rate)
    if quota is not None and not quota.allowed:
        raise RateLimited(quota)
    try:
        yield quota
    except BaseException:
        give_back(key, rate)
        raise

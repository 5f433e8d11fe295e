"""How many of one agency's endpoints may be sent to at once, over every worker: at most
`WEBHOOK_AGENCY_CONCURRENCY` (default 2).

A turn of `delivery.deliver_endpoint` can hold a worker process for up to 25 s (10 s of sending
and one attempt of up to 15 s), so without this an agency with many slow endpoints would hold
every process of the webhooks queue and delay every other agency's deliveries. A `deliver`
task that finds its agency's slots taken goes back to the queue for a moment without
spending an attempt.

The slots are a sorted set in Redis, each member expiring on Redis' own clock after
`SLOT_SECONDS`, so the slot of a worker killed mid-turn frees itself. Redis down: no slots are
kept (the cap fails open; deliveries still go out, the sweep still finds them).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import lru_cache
from typing import Any

import redis
from django.conf import settings

logger = logging.getLogger(__name__)
SLOT_SECONDS = 60  # longer than any turn: a killed worker's slot is free again by then
REDIS_TIMEOUT = 0.5
KEY_PREFIX = "webhooks:slots:"

# KEYS[1]: the agency's set. ARGV: the member, how many may hold a slot, seconds a slot lasts.
# Drops expired members, then adds this one if there is room. Returns 1 if it did.
TAKE_SCRIPT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1
"""


@lru_cache(maxsize=4)
def _client(url: str) -> Any:
    return redis.Redis.from_url(url, socket_timeout=REDIS_TIMEOUT,
                                socket_connect_timeout=REDIS_TIMEOUT)


@lru_cache(maxsize=4)
def _take_script(url: str) -> Any:
    return _client(url).register_script(TAKE_SCRIPT)


@contextmanager
def agency_slot(schema: str) -> Iterator[bool]:
    """True (and a slot held until the block ends) when one of the agency's slots was free."""
    key, member = KEY_PREFIX + schema, secrets.token_hex(8)
    try:
        taken = bool(_take_script(settings.REDIS_URL)(
            keys=[key], args=[member, settings.WEBHOOK_AGENCY_CONCURRENCY, SLOT_SECONDS]))
    except (redis.RedisError, OSError):
        logger.warning("webhook slots unavailable (Redis); sending without the agency cap")
        yield True
        return
    try:
        yield taken
    finally:
        if taken:
            with suppress(redis.RedisError, OSError):  # else it expires on its own
                _client(settings.REDIS_URL).zrem(key, member)

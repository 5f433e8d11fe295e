"""notifications.slots: how many of an agency's endpoints are sent to at once, on real Redis,
and that webhook deliveries run on their own queue."""

from __future__ import annotations

import time
import uuid
from typing import Any

import redis

from notifications import slots
from saas.celery import app


def test_an_agency_holds_at_most_its_share_and_gets_it_back(settings: Any) -> None:
    settings.WEBHOOK_AGENCY_CONCURRENCY = 2
    schema = f"slots_{uuid.uuid4().hex[:8]}"
    with slots.agency_slot(schema) as first, slots.agency_slot(schema) as second:
        with slots.agency_slot(schema) as third:
            assert (first, second, third) == (True, True, False)
        with slots.agency_slot(f"{schema}_other") as another_agency:
            assert another_agency
    with slots.agency_slot(schema) as again:
        assert again


def test_the_slot_of_a_worker_killed_mid_turn_frees_itself(settings: Any) -> None:
    settings.WEBHOOK_AGENCY_CONCURRENCY = 1
    schema = f"slots_{uuid.uuid4().hex[:8]}"
    client = redis.Redis.from_url(settings.REDIS_URL)
    now = time.time()  # the killed worker's slot, held since more than SLOT_SECONDS ago
    client.zadd(slots.KEY_PREFIX + schema, {"killed-worker": now - 1})
    with slots.agency_slot(schema) as granted:
        assert granted


def test_with_redis_down_deliveries_go_out_uncapped(settings: Any) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    with slots.agency_slot("any") as granted:
        assert granted


def test_deliveries_have_their_own_queue_and_the_passes_keep_the_default() -> None:
    route = app.amqp.router.route
    assert route({}, "notifications.deliver")["queue"].name == "webhooks"
    for task in ("campaigns.dispatch_passes", "campaigns.run_tenant_pass",
                 "notifications.dispatch_due", "notifications.sweep"):
        assert route({}, task)["queue"].name == "celery"
    assert {queue.name for queue in app.conf.task_queues} == {"celery", "webhooks"}

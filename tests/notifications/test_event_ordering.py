"""The events API's promise, with real parallel transactions: polling with `after` set to the
last id seen never misses an event and never sees one twice, also while events are being
created concurrently.

Ids come from a sequence before commit, so without the ordering lock a transaction holding a
lower id can commit after a higher one was seen, and a poller past the higher id never sees it.
The first test shows that this happens without the lock (so the others can fail); the others
show that it does not with it.

The agency is committed (each thread has its own connection) and dropped afterwards.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from django.conf import settings
from django.db import transaction
from django.test import Client
from django_tenants.utils import schema_context

from notifications import events
from notifications.events import NewEvent, record_events
from saas.db import connection
from tenants.models import Agency
from tests.conftest import make_tenant

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@dataclass
class Poller:
    """A client of the events API that remembers the last id it saw, as a consumer would."""

    agency: Agency
    token: str
    last: int = 0

    def poll(self) -> list[int]:
        client = Client(HTTP_HOST=f"{self.agency.slug}.{settings.BASE_DOMAIN}")
        response = client.get("/api/v1/events", {"after": self.last, "limit": 100},
                              HTTP_AUTHORIZATION=f"Bearer {self.token}")
        assert response.status_code == 200, response.content
        ids = [event["id"] for event in response.json()["results"]]
        if ids:
            self.last = ids[-1]
        return ids


@pytest.fixture
def committed_agency(django_db_setup: None, django_db_blocker: Any) -> Iterator[Poller]:
    assert connection.settings_dict["NAME"].startswith("test_"), (
        "no test database was set up: keep this module's django_db test")
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        agency, token = make_tenant(f"ordering-{uuid.uuid4().hex[:8]}")
        try:
            yield Poller(agency, token)
        finally:
            connection.close()
            connection.set_schema_to_public()
            agency.delete(force_drop=True)


@pytest.mark.django_db
def test_the_events_list_is_empty_for_a_new_agency(api_client: Any) -> None:
    """Also what makes pytest-django create the test database when this module runs alone."""
    assert api_client.get("/api/v1/events").json() == {"results": [], "has_more": False}


def in_thread(schema: str, work: Callable[[], None]) -> threading.Thread:
    def run() -> None:
        try:
            with schema_context(schema):
                work()
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def late_commit_then_early_commit(poller: Poller) -> list[int]:
    """A writes an event and holds its transaction open; B writes one and commits; the poller
    polls; A commits; the poller polls again. Every id the poller saw, in order."""
    schema = poller.agency.schema_name
    a_wrote, a_may_commit = threading.Event(), threading.Event()

    def writer_a() -> None:
        with transaction.atomic():
            record_events([NewEvent("webhook.test", {"writer": "A"}, AT)])
            a_wrote.set()
            a_may_commit.wait(timeout=10)

    def writer_b() -> None:
        with transaction.atomic():
            record_events([NewEvent("webhook.test", {"writer": "B"}, AT)])

    a = in_thread(schema, writer_a)
    assert a_wrote.wait(timeout=10)
    b = in_thread(schema, writer_b)
    b.join(timeout=1.0)  # with the lock B waits for A; without it B commits now
    seen = poller.poll()
    a_may_commit.set()
    a.join(timeout=10)
    b.join(timeout=10)
    seen += poller.poll()
    return seen


def test_without_the_ordering_lock_a_poller_misses_an_event_that_committed_late(
    committed_agency: Poller, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(events, "take_ordering_lock", lambda: None)
    seen = late_commit_then_early_commit(committed_agency)
    with schema_context(committed_agency.agency.schema_name):
        stored = sorted(events.Event.objects.values_list("id", flat=True))
    assert len(stored) == 2
    assert seen == [stored[1]]  # A's lower id committed after the poller had passed it


def test_with_the_ordering_lock_a_late_commit_is_seen_in_order(committed_agency: Poller) -> None:
    seen = late_commit_then_early_commit(committed_agency)
    with schema_context(committed_agency.agency.schema_name):
        stored = sorted(events.Event.objects.values_list("id", flat=True))
    assert seen == stored and len(stored) == 2


def test_a_poller_sees_every_event_once_in_order_while_writers_race(
    committed_agency: Poller,
) -> None:
    schema = committed_agency.agency.schema_name
    writers, transactions_each = 4, 15
    done = threading.Event()
    seen: list[int] = []

    def writer(seed: int) -> Callable[[], None]:
        rng = random.Random(seed)

        def work() -> None:
            for n in range(transactions_each):
                with transaction.atomic():
                    rows = [NewEvent("webhook.test", {"writer": seed, "n": n}, AT)
                            for _ in range(rng.randint(1, 3))]
                    time.sleep(rng.uniform(0, 0.004))  # work before the events...
                    record_events(rows)
                    time.sleep(rng.uniform(0, 0.004))  # ...and after them, before commit

        return work

    def poll_until_done() -> None:
        try:
            while not done.is_set():
                seen.extend(committed_agency.poll())
            seen.extend(committed_agency.poll())
        finally:
            connection.close()

    poller = threading.Thread(target=poll_until_done, daemon=True)
    poller.start()
    threads = [in_thread(schema, writer(seed)) for seed in range(writers)]
    for thread in threads:
        thread.join(timeout=60)
    done.set()
    poller.join(timeout=30)
    with schema_context(schema):
        stored = sorted(events.Event.objects.values_list("id", flat=True))
    assert len(stored) >= writers * transactions_each
    assert seen == stored  # none missed, none twice, in id order

"""End to end with a real Celery worker (a subprocess, on a Redis of its own) and a real local
receiver: what the API writes is delivered signed, retried on time, still delivered after a
worker was killed in the middle of a delivery or Redis was stopped and started again, and an
endpoint that hangs delays no other.

The agency is committed (the worker is another connection) and dropped afterwards. The test
process publishes to the same Redis as the worker (the app's broker is pointed at it), so the
task sent when the API's transaction commits reaches that worker. Where the contract relies
on the minute's sweep, the test sends the dispatcher that beat would send, instead of waiting
for the next minute.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django_celery_beat.models import PeriodicTask
from standardwebhooks import Webhook

from notifications import tasks
from notifications.signals import SWEEP_NAME
from saas.celery import app
from saas.db import connection
from saas.embedded import free_port, start_redis
from tenants.models import Agency
from tests.campaigns.test_celery_e2e import CELERY, Processes
from tests.conftest import make_tenant
from tests.notifications.conftest import (
    LocalServer,
    Received,
    _handler_for,
    answer_with,
    serve,
)

pytestmark = pytest.mark.slow

ARRIVAL_TIMEOUT = 20.0


@dataclass
class Tenant:
    agency: Agency
    token: str

    def call(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        client = Client(HTTP_HOST=f"{self.agency.slug}.{settings.BASE_DOMAIN}")
        auth = {"HTTP_AUTHORIZATION": f"Bearer {self.token}"}
        if method == "get":
            response = client.get(f"/api/v1/{path}", **auth)
        else:
            response = getattr(client, method)(f"/api/v1/{path}", json.dumps(body or {}),
                                               content_type="application/json", **auth)
        assert response.status_code == status, response.content
        return response.json()


@pytest.fixture
def committed_tenant(django_db_setup: None, django_db_blocker: Any) -> Iterator[Tenant]:
    assert connection.settings_dict["NAME"].startswith("test_"), (
        "no test database was set up: keep this module's django_db test")
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        agency, token = make_tenant("webhooks-e2e")
        try:
            yield Tenant(agency, token)
        finally:
            connection.close()
            connection.set_schema_to_public()
            agency.delete(force_drop=True)


@dataclass
class Broker:
    """The worker's Redis, which the test process publishes to as well."""

    path: Path
    port: int
    process: Any

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)

    def start(self) -> None:
        self.process = start_redis(self.path, self.port)


class Worker(Processes):
    def start_worker(self, broker: Broker, name: str = "worker", concurrency: int = 2) -> None:
        env = {**self.env(broker.url), "WEBHOOK_ALLOW_PRIVATE": "1"}
        self.start(name, [
            str(CELERY), "-A", "saas", "worker", "--pool", "prefork",
            "--concurrency", str(concurrency),
            "--loglevel", "INFO", "--without-gossip", "--without-mingle",
        ], env)

    def wait_ready(self, name: str = "worker", timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while "ready." not in self.logs[name].read_text(errors="replace"):
            assert time.monotonic() < deadline, f"{name} did not start:\n{self.report()}"
            self.check_alive()
            time.sleep(0.1)

    def supervise(self, name: str, broker: Broker) -> bool:
        """Start the worker again if it exited, as docker-compose's restart policy does: kombu
        can take a worker down when Redis goes away under it (celery/kombu#970 and kin).
        True if it had to."""
        if self.running[name].poll() is None:
            return False
        self.running.pop(name)
        self.start_worker(broker, f"{name}-restarted")
        return True

    def kill(self, name: str) -> None:
        process = self.running.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def publish_to(url: str) -> None:
    """Make this process's Celery app publish to `url` from now on.

    Celery binds its connection and producer pools to the broker URL when first used and has
    no public way to rebind them; these are the two attributes its own after-fork hook resets.
    """
    app.conf.broker_url = url
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    port = free_port()
    redis = Broker(tmp_path / "redis", port, start_redis(tmp_path / "redis", port))
    previous = app.conf.broker_url
    publish_to(redis.url)
    try:
        yield redis
    finally:
        publish_to(previous)
        if redis.process.poll() is None:
            redis.process.terminate()
            redis.process.wait(timeout=10)


@pytest.fixture
def worker(tmp_path: Path, broker: Broker) -> Iterator[Worker]:
    processes = Worker(tmp_path)
    processes.start_worker(broker)
    try:
        yield processes
    finally:
        processes.stop()
        print(processes.report())  # shown by pytest when the test fails


@pytest.mark.django_db
def test_migrate_stored_the_sweeps_beat_entry() -> None:
    """Also what makes pytest-django create the test database when this module runs alone."""
    entry = PeriodicTask.objects.get(name=SWEEP_NAME)
    assert entry.enabled and entry.task == "notifications.dispatch_due"


def wait_for(server: LocalServer, count: int, worker: Worker,
             timeout: float = ARRIVAL_TIMEOUT) -> list[Received]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(server.received) >= count:
            return server.received
        worker.check_alive()
        time.sleep(0.05)
    raise AssertionError(f"{len(server.received)} of {count} deliveries arrived:\n"
                         f"{worker.report()}")


def attempts_logged(tenant: Tenant, hook: dict[str, Any], count: int) -> list[tuple[int, int]]:
    """(attempt, status_code) newest first, once `count` are logged (the sender records an
    attempt just after the receiver answered it)."""
    deadline = time.monotonic() + 10
    while True:
        log = tenant.call("get", f"webhooks/{hook['id']}/deliveries")["results"]
        if len(log) >= count or time.monotonic() > deadline:
            return [(a["attempt"], a["status_code"]) for a in log]
        time.sleep(0.05)


def add_webhook(tenant: Tenant, server: LocalServer) -> dict[str, Any]:
    return dict(tenant.call("post", "webhooks", {"url": server.url()}, status=201))


def test_a_real_worker_delivers_a_test_event_that_verifies_with_standardwebhooks(
    committed_tenant: Tenant, worker: Worker, local_server: LocalServer, settings: Any,
    django_db_blocker: Any,
) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = True
    with django_db_blocker.unblock():
        hook = add_webhook(committed_tenant, local_server)
        worker.wait_ready()  # its start is not what is measured
        asked = time.monotonic()
        event = committed_tenant.call("post", f"webhooks/{hook['id']}/test", status=202)["event"]
        (received,) = wait_for(local_server, 1, worker)
        latency = time.monotonic() - asked
        assert Webhook(hook["secret"]).verify(received.body, received.headers) == event
        assert received.headers["webhook-id"] == str(event["id"])
        print(f"webhook.test arrived {latency * 1000:.0f} ms after the API call")
        assert latency < 5.0  # a healthy endpoint receives an event within 5 s of its cause
        assert attempts_logged(committed_tenant, hook, 1) == [(1, 204)]


def test_a_failing_receiver_is_tried_again_about_5_seconds_later(
    committed_tenant: Tenant, worker: Worker, local_server: LocalServer, settings: Any,
    django_db_blocker: Any,
) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = True
    arrivals: list[float] = []
    fail, succeed = answer_with(503), answer_with(204)

    def first_fails(handler: Any) -> None:
        arrivals.append(time.monotonic())
        (fail if len(arrivals) == 1 else succeed)(handler)

    local_server.answer = first_fails
    with django_db_blocker.unblock():
        hook = add_webhook(committed_tenant, local_server)
        committed_tenant.call("post", f"webhooks/{hook['id']}/test", status=202)
        first, second = wait_for(local_server, 2, worker)
        gap = arrivals[1] - arrivals[0]
        print(f"retried {gap:.2f} s after the 503")
        assert 5.0 <= gap <= 7.5
        assert first.headers["webhook-id"] == second.headers["webhook-id"]
        Webhook(hook["secret"]).verify(second.body, second.headers)
        assert attempts_logged(committed_tenant, hook, 2) == [(2, 204), (1, 503)]


def test_a_worker_killed_mid_delivery_and_redis_restarted_still_deliver(
    committed_tenant: Tenant, worker: Worker, broker: Broker, local_server: LocalServer,
    settings: Any, django_db_blocker: Any,
) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = True
    hanging, answered = threading.Event(), answer_with(204)
    calls: list[str] = []

    def hang_the_first(handler: Any) -> None:
        calls.append(handler.headers.get("webhook-id", ""))
        if len(calls) == 1:
            hanging.set()
            time.sleep(3)  # the worker that sent it is killed meanwhile
            return
        answered(handler)

    local_server.answer = hang_the_first
    with django_db_blocker.unblock():
        hook = add_webhook(committed_tenant, local_server)
        event = committed_tenant.call("post", f"webhooks/{hook['id']}/test", status=202)["event"]
        assert hanging.wait(ARRIVAL_TIMEOUT), worker.report()
        worker.kill("worker")  # mid-delivery: the attempt is never recorded
        worker.start_worker(broker, "worker-2")
        tasks.dispatch_due.delay()  # what beat sends every minute
        received = wait_for(local_server, 2, worker)
        assert [r.headers["webhook-id"] for r in received] == [str(event["id"])] * 2
        Webhook(hook["secret"]).verify(received[1].body, received[1].headers)

        broker.stop()
        started = datetime.now(UTC)
        second = committed_tenant.call("post", f"webhooks/{hook['id']}/test", status=202)
        time.sleep(1.0)
        assert len(local_server.received) == 2  # nothing could be queued
        broker.start()
        time.sleep(0.5)
        restarted = worker.supervise("worker-2", broker)
        tasks.dispatch_due.delay()
        received = wait_for(local_server, 3, worker, timeout=30)
        assert received[2].headers["webhook-id"] == str(second["event"]["id"])
        print(f"delivered {(datetime.now(UTC) - started).total_seconds():.1f} s after the "
              f"event, Redis down in between{' (the worker was restarted)' if restarted else ''}")


@pytest.fixture
def second_server() -> Iterator[LocalServer]:
    server = LocalServer()
    yield from serve(server, ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(server)))


def test_an_endpoint_that_hangs_does_not_delay_another(
    committed_tenant: Tenant, worker: Worker, local_server: LocalServer,
    second_server: LocalServer, settings: Any, django_db_blocker: Any,
) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = True
    release = threading.Event()

    def hang(handler: Any) -> None:
        release.wait(12)  # within the 15 s an attempt may take

    local_server.answer = hang
    with django_db_blocker.unblock():
        stuck = add_webhook(committed_tenant, local_server)
        healthy = add_webhook(committed_tenant, second_server)
        worker.wait_ready()
        for _ in range(3):  # several tasks for the stuck endpoint: one sends, the rest leave
            committed_tenant.call("post", f"webhooks/{stuck['id']}/test", status=202)
        wait_for(local_server, 1, worker)
        asked = time.monotonic()
        committed_tenant.call("post", f"webhooks/{healthy['id']}/test", status=202)
        wait_for(second_server, 1, worker)
        delay = time.monotonic() - asked
        release.set()
        print(f"the healthy endpoint got its event {delay * 1000:.0f} ms after the API call, "
              "while the other hung")
        assert delay < 3.0
        assert len(local_server.received) == 1  # one attempt at a time to the stuck one


@pytest.fixture
def three_processes(tmp_path: Path, broker: Broker) -> Iterator[Worker]:
    processes = Worker(tmp_path)
    processes.start_worker(broker, concurrency=3)
    try:
        yield processes
    finally:
        processes.stop()
        print(processes.report())


@pytest.fixture
def other_tenant(committed_tenant: Tenant, django_db_blocker: Any) -> Iterator[Tenant]:
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        agency, token = make_tenant("webhooks-e2e-other")
        try:
            yield Tenant(agency, token)
        finally:
            connection.close()
            connection.set_schema_to_public()
            agency.delete(force_drop=True)


def test_an_agencys_hanging_endpoints_leave_workers_for_other_agencies(
    committed_tenant: Tenant, other_tenant: Tenant, three_processes: Worker,
    local_server: LocalServer, second_server: LocalServer, settings: Any,
    django_db_blocker: Any,
) -> None:
    """Three endpoints of one agency hang, on a worker of three processes: two of them send
    (WEBHOOK_AGENCY_CONCURRENCY), the third waits its turn, and another agency's delivery
    takes the free process at once instead of waiting 12 s behind them."""
    settings.WEBHOOK_ALLOW_PRIVATE = True
    release = threading.Event()
    local_server.answer = lambda handler: release.wait(12)
    with django_db_blocker.unblock():
        hanging = [dict(committed_tenant.call(
            "post", "webhooks", {"url": local_server.url(path=f"/hang{n}")}, status=201))
            for n in range(3)]
        healthy = add_webhook(other_tenant, second_server)
        three_processes.wait_ready()
        for hook in hanging:
            committed_tenant.call("post", f"webhooks/{hook['id']}/test", status=202)
        wait_for(local_server, 2, three_processes)
        time.sleep(0.5)  # the third had its chance to take a process
        in_flight = len(local_server.received)
        asked = time.monotonic()
        other_tenant.call("post", f"webhooks/{healthy['id']}/test", status=202)
        wait_for(second_server, 1, three_processes)
        delay = time.monotonic() - asked
        release.set()
        print(f"another agency's endpoint got its event {delay * 1000:.0f} ms after the API "
              f"call, while {in_flight} of this agency's endpoints hung")
        assert in_flight == 2
        assert delay < 3.0
        wait_for(local_server, 3, three_processes)  # the third is sent once a slot frees

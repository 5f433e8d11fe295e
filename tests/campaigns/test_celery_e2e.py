"""End to end: a real Celery worker and beat (subprocesses, their own Redis) open a dayparting
window on time, with nothing else acting.

The agency is committed (the worker and beat are other connections) and dropped afterwards. Its
brand is in Kathmandu (+05:45), its campaign's window opens at the next whole local minute that
leaves the worker and beat time to start, and the test only polls the API until the campaign
turns active, which must happen within 60 s of the window's start.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.test import Client
from django_celery_beat.models import PeriodicTask

from campaigns.signals import DISPATCHER_NAME
from saas.db import connection
from saas.embedded import free_port, start_redis
from tenants.models import Agency
from tests.conftest import make_tenant

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CELERY = ROOT / ".venv" / "bin" / "celery"
KATHMANDU = ZoneInfo("Asia/Kathmandu")
STARTUP_MARGIN = timedelta(seconds=10)  # worker and beat start in ~1 s
CONTRACT_DELAY = timedelta(seconds=60)


@dataclass
class Tenant:
    agency: Agency
    client: Client
    token: str

    def call(self, method: str, path: str, body: Any = None) -> Any:
        send = getattr(self.client, method)
        extra = {"HTTP_AUTHORIZATION": f"Bearer {self.token}"}
        if body is None:
            response = send(f"/api/v1/{path}", **extra)
        else:
            response = send(f"/api/v1/{path}", json.dumps(body),
                            content_type="application/json", **extra)
        assert response.status_code in (200, 201), response.content
        return response.json()


@pytest.fixture
def committed_tenant(django_db_setup: None, django_db_blocker: Any) -> Iterator[Tenant]:
    """An agency whose rows the worker can see; its schema and rows are dropped afterwards
    (the public tenant and the template schema are left alone)."""
    assert connection.settings_dict["NAME"].startswith("test_"), (
        "pytest-django set up no test database: it does so only for sessions with a django_db "
        "test (this module has one; don't deselect it)")
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        agency, token = make_tenant("celery-e2e")
        try:
            client = Client(HTTP_HOST=f"{agency.slug}.{settings.BASE_DOMAIN}")
            yield Tenant(agency, client, token)
        finally:
            connection.set_schema_to_public()
            agency.delete(force_drop=True)  # DROP SCHEMA ... CASCADE; domain, token cascade


def url_of_the_test_database() -> str:
    """DATABASE_URL with pytest-django's test database in place of the configured one."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path="/" + settings.DATABASES["default"]["NAME"]))


class Processes:
    """Worker, beat and their Redis, each in its own process group, with logs in files."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.running: dict[str, subprocess.Popen[bytes]] = {}
        self.logs: dict[str, Path] = {}

    def env(self, redis_url: str) -> dict[str, str]:
        env = dict(os.environ, DATABASE_URL=url_of_the_test_database(), REDIS_URL=redis_url,
                   PYTHONUNBUFFERED="1")
        env.pop("DJANGO_SETTINGS_MODULE", None)  # `celery -A saas` defaults to saas.settings
        env.setdefault("SECRET_KEY", "celery-e2e-test-secret")
        return env

    def start(self, name: str, args: list[str], env: dict[str, str]) -> None:
        self.logs[name] = self.tmp / f"{name}.log"
        with self.logs[name].open("wb") as log:
            self.running[name] = subprocess.Popen(
                args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def check_alive(self) -> None:
        for name, process in self.running.items():
            assert process.poll() is None, f"{name} exited early:\n{self.report()}"

    def stop(self) -> None:
        for process in self.running.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.running.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)

    def report(self) -> str:
        parts = []
        for name, path in self.logs.items():
            text = path.read_text(errors="replace") if path.exists() else ""
            parts.append(f"----- {name} log (last 60 lines) -----\n"
                         + "\n".join(text.splitlines()[-60:]))
        return "\n".join(parts)


@pytest.fixture
def worker_and_beat(tmp_path: Path) -> Iterator[Processes]:
    processes = Processes(tmp_path)
    port = free_port()
    redis = start_redis(tmp_path / "redis", port)  # a broker of its own: no stale messages
    try:
        env = processes.env(f"redis://127.0.0.1:{port}/0")
        processes.start("worker", [
            str(CELERY), "-A", "saas", "worker", "--pool", "prefork", "--concurrency", "2",
            "--loglevel", "INFO", "--without-gossip", "--without-mingle",
        ], env)
        processes.start("beat", [
            str(CELERY), "-A", "saas", "beat", "--loglevel", "INFO",
            "--schedule", str(tmp_path / "celerybeat-schedule"),  # the DatabaseScheduler's
        ], env)
        yield processes
    finally:
        processes.stop()
        redis.terminate()
        redis.wait(timeout=10)
        print(processes.report())  # shown by pytest when the test fails


@pytest.mark.django_db
def test_migrate_stored_the_beat_entry_the_worker_relies_on() -> None:
    """Also what makes pytest-django create the test database when this module runs alone."""
    entry = PeriodicTask.objects.get(name=DISPATCHER_NAME)
    assert entry.enabled and entry.task == "campaigns.dispatch_passes"


def next_window_start(now: datetime) -> datetime:
    """The next whole local minute in Kathmandu at least STARTUP_MARGIN away."""
    local = (now + STARTUP_MARGIN).astimezone(KATHMANDU)
    return (local.replace(second=0, microsecond=0) + timedelta(minutes=1)).astimezone(UTC)


def window_from(start: datetime, minutes: int) -> dict[str, Any]:
    local = start.astimezone(KATHMANDU)
    start_minute = local.hour * 60 + local.minute
    end_minute = (start_minute + minutes) % 1440 or 1440  # past midnight wraps, as allowed
    hhmm = [f"{m // 60:02d}:{m % 60:02d}" for m in (start_minute, end_minute)]
    return {"day_of_week": local.weekday(), "start": hhmm[0], "end": hhmm[1]}


def test_a_real_worker_and_beat_open_a_dayparting_window_within_60_seconds(
    committed_tenant: Tenant, worker_and_beat: Processes, django_db_blocker: Any
) -> None:
    tenant = committed_tenant
    with django_db_blocker.unblock():
        # The beat entry `migrate` stored in the test database's public schema.
        assert PeriodicTask.objects.filter(name=DISPATCHER_NAME, enabled=True).exists()
        brand = tenant.call("post", "brands", {"name": "Himal", "timezone": "Asia/Kathmandu"})
        campaign = tenant.call("post", "campaigns",
                               {"brand": brand["id"], "name": "Dawn", "dayparting": True})
        opens_at = next_window_start(datetime.now(UTC))
        tenant.call("put", f"campaigns/{campaign['id']}/schedule",
                    {"windows": [window_from(opens_at, 10)]})
        assert tenant.call("get", f"campaigns/{campaign['id']}")["pause_reasons"] == [
            "dayparting"]

        deadline = opens_at + CONTRACT_DELAY + timedelta(seconds=5)
        seen_active = None
        while datetime.now(UTC) < deadline:
            worker_and_beat.check_alive()
            body = tenant.call("get", f"campaigns/{campaign['id']}")
            if body["status"] == "active":
                seen_active = datetime.now(UTC)
                break
            time.sleep(0.5)
        assert seen_active is not None, (
            f"still paused {deadline - opens_at} after the window opened at {opens_at}:\n"
            f"{worker_and_beat.report()}")
        delay = (seen_active - opens_at).total_seconds()
        print(f"window opened at {opens_at.isoformat()}, campaign active after {delay:.1f} s")
        assert delay <= CONTRACT_DELAY.total_seconds(), worker_and_beat.report()

        history = tenant.call("get", f"campaigns/{campaign['id']}/history")["results"]
        assert history[0]["to"] == "active" and history[0]["cause"] == "job"
        changed_at = datetime.fromisoformat(history[0]["at"])
        assert opens_at <= changed_at <= opens_at + CONTRACT_DELAY

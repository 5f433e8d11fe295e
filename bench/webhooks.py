"""Webhook delivery through a real worker to a real local receiver, beside a plain client.

    make bench-webhooks       # embedded PostgreSQL and Redis, or DATABASE_URL / REDIS_URL
    python bench/webhooks.py [--pauses 200] [--resumes 5000] [--outage 0]

One agency (the real signup path) with one endpoint, a receiver (`python -m notifications
.receiver`, a subprocess that verifies every signature with standardwebhooks and prints each
arrival with its time), a worker (`celery -A saas worker`, prefork, 2 processes) and beat (the
minute's sweep sends retries due later than a minute). Events are
written the way the status writer writes them: `record_events` inside a transaction, delivered
by the task queued when it commits.

1. Latency: `--pauses` transactions of one `campaign.paused` each, 20 ms apart; for each, the time
   from its commit to its arrival at the receiver: median and p99 (goal: p99 under 2 s).
2. Throughput: one transaction with `--resumes` `campaign.resumed` events (a local midnight that
   resumes that many campaigns); the time from its commit to the last arrival (goal: 5,000 in
   under 20 s). Beside it, in the same run, a plain httpx client posting as many signed requests
   to the same receiver, one after the other: the ratio says what the delivery machinery
   (database rows, tasks, one attempt's own connection and address check) costs.
3. `--outage S`: the receiver is down for S seconds while events are written, then up again;
   every event must arrive, each webhook-id at least once (events whose retries reached the
   5-minute step arrive then: the run takes that long).

Everything the run creates is dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-never-used-to-serve-anything")
os.environ["WEBHOOK_ALLOW_PRIVATE"] = "1"  # the receiver is on 127.0.0.1

import django  # noqa: E402

django.setup()

import httpx  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from audit.log import Actor  # noqa: E402
from notifications import services, signing  # noqa: E402
from notifications.events import NewEvent, record_events  # noqa: E402
from saas.db import connection  # noqa: E402
from saas.embedded import free_port  # noqa: E402
from tenants.services import create_agency  # noqa: E402

BIN = Path(sys.executable).parent
DATA = ROOT / ".data"
ACTOR = Actor.token(0, "bench")
ARRIVAL = re.compile(r"^(\S+) (\d+) ")


class Receiver:
    """`python -m notifications.receiver` in a process of its own, its lines in a file."""

    def __init__(self, port: int, secret: str, name: str) -> None:
        self.port, self.secret = port, secret
        self.log = DATA / f"bench-{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        out = self.log.open("ab")
        self.process = subprocess.Popen(
            [str(BIN / "python"), "-m", "notifications.receiver", "--port", str(self.port),
             "--secret", self.secret], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
            env=dict(os.environ, PYTHONUNBUFFERED="1"))
        deadline = time.monotonic() + 10
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{self.port}/", timeout=1)
                return
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"the receiver did not start; see {self.log}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def arrivals(self) -> dict[int, datetime]:
        """The first arrival of each webhook-id, as the receiver printed it."""
        first: dict[int, datetime] = {}
        for line in self.log.read_text(errors="replace").splitlines():
            match = ARRIVAL.match(line)
            if match and "rejected" not in line and "on purpose" not in line:
                at = datetime.fromisoformat(match.group(1).replace("Z", "+00:00"))
                first.setdefault(int(match.group(2)), at)
        return first

    def wait_for(self, ids: set[int], timeout: float) -> dict[int, datetime]:
        deadline = time.monotonic() + timeout
        while True:
            seen = self.arrivals()
            if ids <= seen.keys():
                return seen
            if time.monotonic() > deadline:
                raise SystemExit(f"{len(ids - seen.keys())} of {len(ids)} events never arrived; "
                                 f"see {self.log} and {DATA / 'bench-webhooks-worker.log'}")
            time.sleep(0.05)


def start_worker(schema: str, receiver: Receiver) -> subprocess.Popen[bytes]:
    """A worker, ready and warm (one delivery made): its start is not what is measured."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.pop("DJANGO_SETTINGS_MODULE", None)
    log_path = DATA / "bench-webhooks-worker.log"
    worker = subprocess.Popen(
        [str(BIN / "celery"), "-A", "saas", "worker", "--pool", "prefork", "--concurrency", "2",
         "--loglevel", "INFO", "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=env, stdout=log_path.open("wb"), stderr=subprocess.STDOUT,
        start_new_session=True)
    deadline = time.monotonic() + 60
    while "ready." not in log_path.read_text(errors="replace"):
        if worker.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the worker did not start; see {log_path}")
        time.sleep(0.1)
    with schema_context(schema):
        warm_up = [commit([NewEvent("webhook.test", {"warm": n}, timezone.now())])[0][0]
                   for n in range(2)]
    receiver.wait_for(set(warm_up), timeout=60)
    return worker


def start_beat() -> subprocess.Popen[bytes]:
    """Beat, as deployed: it sends the minute's sweep, which sends retries due later than a
    minute (the worker holds only those due within one)."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.Popen(
        [str(BIN / "celery"), "-A", "saas", "beat", "--loglevel", "WARNING",
         "--schedule", str(DATA / "bench-webhooks-celerybeat-schedule")],
        cwd=ROOT, env=env, stdout=(DATA / "bench-webhooks-beat.log").open("wb"),
        stderr=subprocess.STDOUT, start_new_session=True)


def commit(events: list[NewEvent]) -> tuple[list[int], datetime]:
    """Write the events as the status writer does; the ids and the instant of the commit."""
    with transaction.atomic():
        ids = record_events(events)
    return ids, datetime.now(UTC)  # (the task was queued on commit, before this returns)


def latency(schema: str, receiver: Receiver, count: int) -> None:
    commits: dict[int, datetime] = {}
    with schema_context(schema):
        for n in range(count):
            (event_id,), committed = commit([NewEvent("campaign.paused", {"n": n},
                                                      timezone.now())])
            commits[event_id] = committed
            time.sleep(0.02)
    arrived = receiver.wait_for(set(commits), timeout=60)
    delays = sorted((arrived[i] - commits[i]).total_seconds() for i in commits)
    p99 = delays[min(len(delays) - 1, round(len(delays) * 0.99) - 1)]
    print(f"latency, commit -> receiver, {count} pauses: median "
          f"{statistics.median(delays) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
          f"max {delays[-1] * 1000:.0f} ms (goal: p99 under 2 s)")


def throughput(schema: str, receiver: Receiver, count: int) -> float:
    with schema_context(schema):
        rows = [NewEvent("campaign.resumed", {"campaign": {"id": n}, "from": "paused",
                                              "to": "active"}, timezone.now())
                for n in range(count)]
        started = time.perf_counter()
        ids, committed = commit(rows)
    written = time.perf_counter() - started
    arrived = receiver.wait_for(set(ids), timeout=600)
    seconds = (max(arrived.values()) - committed).total_seconds()
    print(f"{count} campaign.resumed in one transaction: written in {written:.2f} s, all "
          f"delivered {seconds:.2f} s after the commit ({count / seconds:.0f}/s; goal: 5,000 in "
          f"under 20 s)")
    return seconds


def plain_client(receiver: Receiver, count: int) -> float:
    """The baseline: one httpx client, one signed POST after the other, same receiver."""
    url = f"http://127.0.0.1:{receiver.port}/"
    started = time.perf_counter()
    with httpx.Client() as client:
        for n in range(count):
            msg_id = str(10_000_000 + n)
            body = (f'{{"id":{msg_id},"type":"campaign.resumed",'
                    f'"created_at":"2026-06-10T00:00:00Z","data":{{"campaign":{{"id":{n}}}}}}}'
                    ).encode()
            headers = signing.delivery_headers([receiver.secret], msg_id, datetime.now(UTC), body)
            assert client.post(url, content=body, headers=headers).status_code == 204
    seconds = time.perf_counter() - started
    print(f"plain httpx client, {count} signed POSTs to the same receiver: {seconds:.2f} s "
          f"({count / seconds:.0f}/s)")
    return seconds


def outage(schema: str, receiver: Receiver, down_seconds: float, count: int = 50) -> None:
    receiver.stop()
    ids: list[int] = []
    with schema_context(schema):
        for n in range(count):
            ids += commit([NewEvent("campaign.paused", {"n": n}, timezone.now())])[0]
            time.sleep(down_seconds / count)
    receiver.start()
    up = time.perf_counter()
    arrived = receiver.wait_for(set(ids), timeout=900)
    back = datetime.now(UTC) - timedelta(seconds=time.perf_counter() - up)
    waits = sorted((arrived[i] - back).total_seconds() for i in ids)
    print(f"receiver down {down_seconds:.0f} s while {count} events were written: all arrived, "
          f"{sum(w < 60 for w in waits)} within a minute of its return, the last "
          f"{waits[-1]:.0f} s after it")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pauses", type=int, default=200)
    parser.add_argument("--resumes", type=int, default=5000)
    parser.add_argument("--outage", type=float, default=0, help="seconds the receiver is down")
    options = parser.parse_args()

    call_command("migrate", interactive=False, verbosity=0)  # a new database, or nothing to do
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    DATA.mkdir(exist_ok=True)
    slug = f"bw{uuid.uuid4().hex[:6]}"
    agency = create_agency(name="Bench webhooks", slug=slug, email=f"owner@{slug}.test",
                           password="bench-Pw-42").agency
    port = free_port()
    worker = beat = None
    receiver = None
    try:
        with schema_context(agency.schema_name):
            created = services.create_endpoint(url=f"http://127.0.0.1:{port}/hooks",
                                               actor=ACTOR, now=timezone.now())
        receiver = Receiver(port, created.secret, "webhooks-receiver")
        receiver.log.write_text("")
        receiver.start()
        worker = start_worker(agency.schema_name, receiver)
        beat = start_beat()
        latency(agency.schema_name, receiver, options.pauses)
        delivered = throughput(agency.schema_name, receiver, options.resumes)
        baseline = plain_client(receiver, options.resumes)
        print(f"ratio: the worker took {delivered / baseline:.1f}x the plain client's time")
        if options.outage:
            outage(agency.schema_name, receiver, options.outage)
    finally:
        for process in (worker, beat):
            if process is not None:
                os.killpg(process.pid, 15)
                process.wait(timeout=30)
        if receiver is not None:
            receiver.stop()
        connection.set_schema_to_public()
        agency.delete(force_drop=True)  # the schema CASCADE, then its rows
    return 0


if __name__ == "__main__":
    sys.exit(main())

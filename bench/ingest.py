"""Spend ingestion throughput under gunicorn, beside a bare Django view and raw PostgreSQL doing
the same minimal work.

    make bench-ingest     # embedded PostgreSQL and Redis, or those at DATABASE_URL / REDIS_URL
    python bench/ingest.py [--seconds 4] [--slices 3] [--workers 4] [--scenarios single,...]

The service runs under gunicorn (sync workers, DEBUG off) on 127.0.0.1 and `wrk` drives it with a
new event_id every request, over one agency of 16 brands x 4 campaigns:

- `single`: `POST /api/v1/spend` on the agency's host, campaigns in turn (16 connections);
- `public`: the same on the public host, where the token names its agency;
- `hot`: single spends on the agency's host all to the 4 campaigns of one brand, so every
  request waits for the same brand lock;
- `batch`: `POST /api/v1/spend/batch`, 1000 events a request (4 connections).

In the same run `bench/bare_view.py` (Django with no middleware sending the minimal ingest's two
statements, insert the event and upsert its daily total, to a scratch schema whose tables copy
the ledger's and the totals') serves single spends under the same gunicorn and wrk, in slices
alternating with each single-spend scenario's: the reference its rate is divided by. For batches
the reference is `pgbench` doing those statements for 1000 events per transaction (4 clients).
Each single-spend ratio is also given by CPU: the machine's CPU seconds per event (every process,
from /proc/stat, time stolen by the hypervisor excluded) of the bare view over the scenario's.
On a machine the run keeps busy the two agree; where another VM's load comes and goes, rates
per slice swing by a factor of two and the CPU figure barely moves.
Everything the run creates is dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-never-used-to-serve-anything")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from campaigns.models import Brand, Campaign, Spend  # noqa: E402
from saas.db import connection  # noqa: E402
from saas.embedded import free_port  # noqa: E402
from tenants.models import Agency  # noqa: E402
from tenants.services import create_agency  # noqa: E402

BRANDS = 16
CAMPAIGNS_PER_BRAND = 4
SINGLE_CONNECTIONS = 16
BATCH_CONNECTIONS = 4
BATCH_SIZE = 1000
# What each rate must reach of its reference (the bare view for single spends, pgbench for
# batches). `hot` has none: one brand's lock serialises it, and it is compared with older code.
TARGETS = {"single": 0.6, "public": 0.6, "batch": 0.25}
SCENARIOS = ("single", "public", "hot", "batch")

# --- wrk scripts: every request a new event_id (thread id + counter), campaigns in turn ---
WRK_COMMON = """
local counter = 0
local campaigns = {%(campaigns)s}
local headers = {["Content-Type"] = "application/json",
                 ["Authorization"] = "Bearer %(token)s", ["Host"] = "%(host)s"}
local threads = {}
local thread_count = 0
function setup(thread)
  thread_count = thread_count + 1
  thread:set("tid", thread_count .. "-" .. "%(run)s")
  table.insert(threads, thread)
end
local function event()
  counter = counter + 1
  local campaign = campaigns[(counter %% #campaigns) + 1]
  return string.format('{"campaign": %%d, "amount": "1.25", "event_id": "%%s-%%d"}',
                       campaign, tid, counter)
end
local failures = 0
function response(status, headers, body)
  if status ~= %(expected)s then
    failures = failures + 1
    if failures <= 3 then io.stderr:write(status .. " " .. body .. "\\n") end
  end
end
"""
WRK_SINGLE = WRK_COMMON + """
request = function()
  return wrk.format("POST", "/api/v1/spend", headers, event())
end
"""
WRK_BATCH = WRK_COMMON + """
request = function()
  local events = {}
  for i = 1, %(batch)d do events[i] = event() end
  return wrk.format("POST", "/api/v1/spend/batch", headers,
                    '{"events": [' .. table.concat(events, ",") .. ']}')
end
"""

# --- pgbench: the bare view's two statements for 1000 events at once, in a scratch schema ------
PG_BATCH = """
BEGIN;
WITH inserted AS (
    INSERT INTO {schema}.spend (campaign_id, amount, occurred_at, local_day, event_id,
        request_hash, created_at)
    SELECT 1 + g % {campaigns}, 1.25, now(), current_date, gen_random_uuid()::text, '', now()
    FROM generate_series(1, {batch}) g
    RETURNING campaign_id, amount, local_day
)
INSERT INTO {schema}.total (campaign_id, period, period_start, amount)
SELECT campaign_id, 'd', local_day, sum(amount) FROM inserted GROUP BY 1, 3
ON CONFLICT (campaign_id, period, period_start)
DO UPDATE SET amount = total.amount + EXCLUDED.amount;
END;
"""


@dataclass(frozen=True)
class Tenant:
    agency: Agency
    host: str
    token: str
    campaign_ids: list[int]

    @property
    def hot_campaign_ids(self) -> list[int]:
        """The campaigns of the first brand."""
        return self.campaign_ids[:CAMPAIGNS_PER_BRAND]


def make_tenant(slug: str) -> Tenant:
    """An agency with brands and campaigns that no cap will pause."""
    created = create_agency(name="Bench ingest", slug=slug, email=f"owner@{slug}.test",
                            password="bench-Password-42")
    with schema_context(created.agency.schema_name):
        brands = Brand.objects.bulk_create(
            Brand(name=f"Brand {n}", timezone="Europe/Paris") for n in range(BRANDS))
        campaigns = Campaign.objects.bulk_create(
            Campaign(brand=brand, name=f"Campaign {n}")
            for brand in brands for n in range(CAMPAIGNS_PER_BRAND))
    connection.set_schema_to_public()
    return Tenant(created.agency, created.domain, created.token, [c.pk for c in campaigns])


def ledger_rows(tenant: Tenant) -> int:
    with schema_context(tenant.agency.schema_name):
        return Spend.objects.count()


# --- The service under gunicorn -------------------------------------------------------------

def start_gunicorn(port: int, workers: int, app: str = "saas.wsgi:application",
                   **env_vars: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DEBUG": "0", "DJANGO_SETTINGS_MODULE": "saas.settings", **env_vars}
    args = [sys.executable, "-m", "gunicorn", app, "--bind",
            f"127.0.0.1:{port}", "--workers", str(workers), "--worker-class", "sync",
            "--log-level", "warning"]
    server = subprocess.Popen(args, env=env, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return server
        except OSError:
            time.sleep(0.2)
    stop(server)
    raise RuntimeError("gunicorn did not answer /healthz within 30 s")


def stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)  # its own session: the master and its workers
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def smoke(tenant: Tenant, port: int) -> None:
    """One spend through the API before any load, so a setup problem fails loudly."""
    body = json.dumps({"campaign": tenant.campaign_ids[0], "amount": "0.01"}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/spend", data=body, method="POST",
        headers={"Host": tenant.host, "Authorization": f"Bearer {tenant.token}",
                 "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201, response.read()


def run_wrk(script: str, port: int, connections: int, seconds: int) -> float:
    """Requests per second; fails the bench on any unexpected status."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(script)
    try:
        threads = min(2, connections)
        result = subprocess.run(
            ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s",
             "--timeout", "30s", "-s", lua.name, f"http://127.0.0.1:{port}"],
            capture_output=True, text=True, timeout=seconds + 60, check=True)
    finally:
        os.unlink(lua.name)
    if "Non-2xx" in result.stdout or "Socket errors" in result.stdout:
        raise RuntimeError(f"wrk saw failures:\n{result.stdout}\n{result.stderr}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", result.stdout).group(1))  # type: ignore[union-attr]


def wrk_script(tenant: Tenant, scenario: str, run: str) -> str:
    campaigns = tenant.hot_campaign_ids if scenario == "hot" else tenant.campaign_ids
    values = {
        "campaigns": ",".join(map(str, campaigns)), "token": tenant.token,
        "host": settings.BASE_DOMAIN if scenario == "public" else tenant.host,
        "run": run, "batch": BATCH_SIZE, "expected": 200 if scenario == "batch" else 201,
    }
    return (WRK_BATCH if scenario == "batch" else WRK_SINGLE) % values


def busy_seconds() -> float:
    """CPU seconds the whole machine has spent working (user, system, interrupts; not idle, not
    I/O wait, not time the hypervisor stole): every process of the run, workers, PostgreSQL and
    wrk alike."""
    with open("/proc/stat") as stat:
        user, nice, system, _idle, _iowait, irq, softirq = map(int, stat.readline().split()[1:8])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


@dataclass
class Tally:
    """Events stored, the seconds it took and the machine's CPU seconds meanwhile, over one or
    more slices."""

    events: int = 0
    seconds: float = 0.0
    cpu: float = 0.0

    @property
    def rate(self) -> float:
        return self.events / self.seconds

    @property
    def cpu_ms(self) -> float:
        """Machine CPU per event: on a machine the run keeps busy, what sets the rate, and
        steady where the rate is not (another VM's load steals time, not instructions)."""
        return self.cpu * 1000 / self.events


def measure(tenant: Tenant, port: int, scenario: str, seconds: int, tally: Tally,
            rows: Callable[[], int] | None = None, *, warm_up: bool = False) -> None:
    """Drive one scenario for `seconds` and add the events stored (counted in the ledger, or by
    `rows`) to `tally`."""
    count = rows or (lambda: ledger_rows(tenant))
    connections = BATCH_CONNECTIONS if scenario == "batch" else SINGLE_CONNECTIONS
    run = uuid.uuid4().hex[:8]  # event_ids of their own in every slice
    if warm_up:
        run_wrk(wrk_script(tenant, scenario, f"{scenario}-warmup-{run}"), port, connections, 2)
    before = count()
    started, cpu = time.monotonic(), busy_seconds()
    run_wrk(wrk_script(tenant, scenario, f"{scenario}-{run}"), port, connections, seconds)
    tally.cpu += busy_seconds() - cpu
    tally.seconds += time.monotonic() - started
    tally.events += count() - before


# --- Raw PostgreSQL ------------------------------------------------------------------------

def pgbench_binary() -> str:
    try:
        import pgserver

        bundled = Path(pgserver.__file__).parent / "pginstall" / "bin" / "pgbench"
        if bundled.exists():
            return str(bundled)
    except ImportError:
        pass
    found = shutil.which("pgbench")
    if not found:
        raise RuntimeError("pgbench not found: pip install pgserver, or apt-get install "
                           "postgresql-client")
    return found


def make_scratch(schema: str, tenant: Tenant) -> None:
    """Tables like the ledger's and the totals' (LIKE ... INCLUDING ALL: indexes, constraints,
    identity), in a schema of their own."""
    source = tenant.agency.schema_name
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "{schema}"')
        cursor.execute(f'CREATE TABLE "{schema}".spend '
                       f'(LIKE "{source}".campaigns_spend INCLUDING ALL)')
        cursor.execute(f'CREATE TABLE "{schema}".total '
                       f'(LIKE "{source}".campaigns_spendtotal INCLUDING ALL)')


def raw_rate(schema: str, seconds: int) -> float:
    """Events per second of raw PostgreSQL inserting batches and upserting their totals."""
    script = PG_BATCH.format(schema=schema, campaigns=BRANDS * CAMPAIGNS_PER_BRAND,
                             batch=BATCH_SIZE)
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as sql:
        sql.write(script)
    try:
        result = subprocess.run(
            [pgbench_binary(), "-n", "-M", "prepared", "-c", str(BATCH_CONNECTIONS),
             "-j", "2", "-T", str(seconds), "-f", sql.name, settings.DATABASE_URL],
            capture_output=True, text=True, timeout=seconds + 60, check=True)
    finally:
        os.unlink(sql.name)
    match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", result.stdout)
    if not match:
        raise RuntimeError(f"unexpected pgbench output:\n{result.stdout}\n{result.stderr}")
    return float(match.group(1)) * BATCH_SIZE


def scratch_rows(schema: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{schema}".spend')
        return int(cursor.fetchone()[0])


def cleanup(tenant: Tenant | None, schema: str) -> None:
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    if tenant is not None:
        tenant.agency.delete(force_drop=True)  # drops its schema; domain and tokens cascade


def ready_for_wrk() -> bool:
    """What every wrk-driven bench needs before it starts: wrk itself (False, said on stderr,
    without it) and the database migrated (the template agency must exist)."""
    if not shutil.which("wrk"):
        print("wrk not found: apt-get install wrk", file=sys.stderr)
        return False
    call_command("migrate", interactive=False, verbosity=0)
    return True


def report(service: dict[str, float], references: dict[str, tuple[str, float]],
           cpu_ratios: dict[str, float]) -> None:
    """Each scenario beside its reference: the bare view for single spends, pgbench for
    batches. `by CPU` is the reference's machine CPU per event over the scenario's (single
    spends only): the same ratio where the machine is CPU-bound, and the steadier one where
    other load comes and goes."""
    print()
    print(f"{'':8} {'events/s':>10}   {'reference':<22} {'ratio':>6} {'by CPU':>7} "
          f"{'target':>7}")
    summary: dict[str, dict[str, float]] = {}
    for scenario, rate in service.items():
        name, reference = references[scenario]
        ratio = rate / reference
        target = TARGETS.get(scenario)
        mark = "" if target is None else ("ok" if ratio >= target else "BELOW")
        target_text = "-" if target is None else f"{target:.2f}"
        cpu_text = f"{cpu_ratios[scenario]:7.3f}" if scenario in cpu_ratios else f"{'-':>7}"
        print(f"{scenario:8} {rate:10,.0f}   {name:<12} {reference:9,.0f} {ratio:6.3f} "
              f"{cpu_text} {target_text:>7}  {mark}")
        summary[scenario] = {"events": round(rate), "ratio": round(ratio, 3)}
        if scenario in cpu_ratios:
            summary[scenario]["cpu_ratio"] = round(cpu_ratios[scenario], 3)
    print(json.dumps(summary))


def main() -> int:
    parser = argparse.ArgumentParser(description="Spend ingestion beside a bare Django view.")
    parser.add_argument("--seconds", type=int, default=4, help="per slice")
    parser.add_argument("--slices", type=int, default=3,
                        help="slices of each single-spend scenario, alternating with the bare "
                             "view's")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS),
                        help=f"comma-separated, of {', '.join(SCENARIOS)}")
    args = parser.parse_args()
    scenarios = [name for name in args.scenarios.split(",") if name]
    if unknown := set(scenarios) - set(SCENARIOS):
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    if not ready_for_wrk():
        return 2

    run = uuid.uuid4().hex[:6]
    schema = f"bench_raw_{run}"
    tenant: Tenant | None = None
    servers: list[subprocess.Popen[bytes]] = []
    try:
        tenant = make_tenant(f"bench-ingest-{run}")
        make_scratch(schema, tenant)
        raw = raw_rate(schema, args.seconds * args.slices) if "batch" in scenarios else 0.0
        if raw:
            print(f"raw PostgreSQL: {raw:,.0f} events/s in batches")
        bare_port, port = free_port(), free_port()
        servers.append(start_gunicorn(bare_port, args.workers, "bench.bare_view:application",
                                      BENCH_SCHEMA=schema, DATABASE_URL=settings.DATABASE_URL))
        servers.append(start_gunicorn(port, args.workers))
        smoke(tenant, port)
        service: dict[str, float] = {}
        references: dict[str, tuple[str, float]] = {"batch": ("pgbench", raw)}
        cpu_ratios: dict[str, float] = {}
        for scenario in scenarios:
            ours, bare = Tally(), Tally()
            for slice_number in range(args.slices):
                first = slice_number == 0
                if scenario != "batch":
                    # The reference runs in slices alternating with the scenario's, so load
                    # that comes and goes on the machine weighs on both alike.
                    measure(tenant, bare_port, "single", args.seconds, bare,
                            rows=lambda: scratch_rows(schema), warm_up=first)
                measure(tenant, port, scenario, args.seconds, ours, warm_up=first)
            if scenario != "batch":
                references[scenario] = ("bare view", bare.rate)
                cpu_ratios[scenario] = bare.cpu_ms / ours.cpu_ms
            service[scenario] = ours.rate
            print(f"{scenario}: service {ours.rate:,.0f} events/s, {ours.cpu_ms:.2f} ms of CPU "
                  "each" + ("" if scenario == "batch" else
                            f"; bare view {bare.rate:,.0f} events/s, {bare.cpu_ms:.2f} ms"))
        report(service, references, cpu_ratios)
    finally:
        for server in servers:
            stop(server)
        cleanup(tenant, schema)
    print(f"cleaned up: agency bench-ingest-{run} and schema {schema}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

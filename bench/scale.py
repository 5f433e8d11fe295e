"""A thousand agencies: the periodic pass, one zone's midnight, signup, migrate and a backend's
memory, each printed beside the period or goal it must fit in.

    make bench-scale                        # embedded PostgreSQL in .data/bench-scale, kept
    make bench-scale BENCH_ARGS="--reuse"   # the agencies of the previous run, not rebuilt
    python bench/scale.py [--agencies 1000] [--campaigns-per-agency 100] [--zone Europe/Berlin]
                          [--reuse] [--skip-migrate] [--migrate-executors batch,multiprocessing]

On the 2-core machine: ~30 minutes the first time (10 of them cloning schemas, 9 the
multiprocessing `migrate`), ~20 with `--reuse`, ~11 with `--reuse --skip-migrate`.

The data: N agencies (`scale-0000` ...) of M campaigns over 10 brands. Agency i lives in zone
i mod 10 (10 IANA zones from Auckland to Los Angeles, offsets :00, :30 and :45): 8 of its brands
are there, the other two 3 and 6 zones further on, so one zone's midnight touches 3 agencies in
10. Per brand, by the campaign's rank: half have their daily budget used up by spend on the
previous local day (one also dayparted), one is partly spent, one has a monthly cap, one is
dayparted (08:10-18:20 local, every day), one is paused by hand, one has no cap; brand 1 of
every agency has a brand daily budget used up on that day. The first agency is a real signup
(`create_agency`) filled through the ORM; the others are clones of its schema made with the
`clone_schema()` signup uses (two connections at a time), their brands moved to their own zones,
and their Agency, Domain and ApiToken rows inserted with one statement per table.

The clock: every pass and every check gets the instant `at`; the worker's passes get it through
the optional `at` of `campaigns.dispatch_passes` / `dispatch_full_passes` / `run_tenant_pass`
(beat sends none: now). M is the local midnight of 2026-06-10 in `--zone`. Two designs on the
same data: the full pass of every agency (before issue 15 every minute; now the hourly safety
net, and `run_jobs`), and the due-driven minute (`dispatch_passes`: only the agencies whose
marker is due, and in them only the brands with a campaign due):

  setup      M - 180 s  a full pass in process (run_all_tenants): the stored state of this run
  quiet      M - 120 s  the full pass in process again, nothing changes (the reference figure):
                        on a new connection (every schema's catalog entries cold, as a worker's
                        backend is), then on the same one (warm)
  quiet      M - 120 s  due-driven, in process: the dispatcher's query and the passes it finds
  warm-up    M - 120 s  a real worker (prefork, 2 processes) does the full pass (not timed)
  quiet      M -  60 s  full, through the worker: dispatch_full_passes and its passes, drained
  midnight   M +   1 s  full, through the worker: the zone's capped campaigns resume
  (reset)    M - 180 s  a full pass in process: back to the eve
  quiet      M -  60 s  due-driven, through the worker: dispatch_passes and its passes
  midnight   M +   1 s  due-driven, through the worker
  midnight   M +   1 s  in process, after resetting at M - 180 s: full (reference), due-driven

After each: the campaigns whose stored status or reasons differ from a fresh evaluation at that
instant (`selectors.snapshot(at).evaluate_all()`, per agency) must be 0. Then signup latency
with N agencies present (real `create_agency` calls, the production password hasher), taking a
spare and, as the baseline, cloning; the memory of the PostgreSQL backend after one spend in
every agency (`ledger.record_spend`, prepared statements), without a limit on the schemas a
connection serves (the baseline) and with DATABASE_SCHEMAS_PER_CONNECTION; and `migrate_schemas`
applying one new tenant migration with this service's executor and django-tenants'
multiprocessing one (a throwaway app in a temporary directory, with settings of its own;
everything it adds is removed afterwards, also at the start of the next run if one was
interrupted).
"""

from __future__ import annotations

import argparse
import functools
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as wall_time
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-never-used-to-serve-anything")

import django  # noqa: E402

django.setup()

import psycopg  # noqa: E402
import redis  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from campaigns import clock, due, selectors  # noqa: E402
from campaigns.ledger import SpendEvent, record_spend  # noqa: E402
from campaigns.models import (  # noqa: E402
    Brand,
    Campaign,
    Period,
    ScheduleWindow,
    Spend,
    SpendTotal,
)
from campaigns.selectors import zone  # noqa: E402
from campaigns.tasks import dispatch_full_passes, dispatch_passes  # noqa: E402
from campaigns.tenant_passes import run_all_tenants, run_for_schema  # noqa: E402
from saas.celery import app as celery_app  # noqa: E402
from saas.db import connection  # noqa: E402
from tenants import spares  # noqa: E402
from tenants.models import SCOPES, Agency, ApiToken, Domain  # noqa: E402
from tenants.services import SIGNUP_TOKEN_NAME, create_agency, tenant_domain  # noqa: E402

PERIOD = 60.0
SIGNUP_GOAL = 1.0
MIGRATE_GOAL = 300.0
ZONES = ["Pacific/Auckland", "Australia/Sydney", "Asia/Tokyo", "Asia/Kathmandu", "Asia/Kolkata",
         "Europe/Berlin", "Europe/London", "America/Sao_Paulo", "America/New_York",
         "America/Los_Angeles"]
DAY = date(2026, 6, 10)  # the local day whose midnight the run plays
SPENT_DAY = DAY - timedelta(days=1)
BRANDS = 10
PREFIX = "scale"
PASSWORD = "bench-Password-42"
CELERY = Path(sys.executable).parent / "celery"
DATA = Path(os.environ.get("EMBEDDED_DATA_DIR", ROOT / ".data"))
PROBE_APP = "bench_scale_probe"
T = TypeVar("T")

# Campaign roles, by rank within its brand: (daily cap, monthly cap, spend on SPENT_DAY,
# dayparted, paused by hand).
CAP = Decimal("10.00")
ROLES = [
    ("daily cap used up", CAP, None, CAP, False, False),
    ("no cap", None, None, None, False, False),
    ("daily cap used up", CAP, None, CAP, False, False),
    ("dayparted", None, None, None, True, False),
    ("daily cap partly spent", CAP, None, Decimal("4.00"), False, False),
    ("daily cap used up", CAP, None, CAP, False, False),
    ("monthly cap partly spent", None, Decimal("100.00"), Decimal("30.00"), False, False),
    ("dayparted, daily cap used up", CAP, None, CAP, True, False),
    ("paused by hand", None, None, None, False, True),
    ("daily cap used up", CAP, None, CAP, False, False),
]
UNCAPPED_ROLE = 1
BRAND_CAP = Decimal("50.00")  # brand 1's daily budget: its campaigns spent 84 on SPENT_DAY
WINDOW = (8 * 60 + 10, 18 * 60 + 20)  # 08:10-18:20: edges never on a whole UTC hour
SETUP = timedelta(seconds=180)  # before the midnight: the pass that sets this run's state


def say(message: str = "") -> None:
    print(message, flush=True)


def load() -> str:
    return Path("/proc/loadavg").read_text().split(" ", 1)[0] if Path("/proc/loadavg").exists() \
        else "?"


def timed(action: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    value = action()
    return value, time.perf_counter() - started


def slug_of(i: int) -> str:
    return f"{PREFIX}-{i:04d}"


def schema_of(i: int) -> str:
    return f"{PREFIX}_{i:04d}"


def zones_of(i: int, brands: int) -> list[str]:
    """Agency i's brands: most in its home zone, the last two 3 and 6 zones further on."""
    home = i % len(ZONES)
    names = [ZONES[home]] * brands
    if brands >= 3:
        names[-2] = ZONES[(home + 3) % len(ZONES)]
        names[-1] = ZONES[(home + 6) % len(ZONES)]
    return names


# --- measuring processes ------------------------------------------------------------------


def tree_cpu(root: int | None) -> float | None:
    """CPU seconds of a process and its descendants (reaped children included), from /proc."""
    if root is None or not Path(f"/proc/{root}").exists():
        return None
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            text = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2:].split()
        parents[int(entry)] = int(fields[1])
        ticks[int(entry)] = sum(int(value) for value in fields[11:15])
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += ticks.get(pid, 0)
        stack.extend(child for child, parent in parents.items() if parent == pid)
    return total / os.sysconf("SC_CLK_TCK")


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def postmaster_pid() -> int | None:
    stat = Path(f"/proc/{backend_pid()}/stat")
    if not stat.exists():  # a database on another machine
        return None
    text = stat.read_text()
    return int(text[text.rindex(")") + 2:].split()[1])


def page_counts() -> tuple[int, int, int]:
    """Pages read from the OS and found in shared_buffers, and WAL flushes, so far."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT blks_read, blks_hit, (SELECT wal_sync FROM pg_stat_wal) "
                       "FROM pg_stat_database WHERE datname = current_database()")
        read, hit, syncs = cursor.fetchone()
    return int(read), int(hit), int(syncs)


def commit_latency() -> float:
    """Median seconds of a commit that must wait for its WAL to reach the disk (every pass
    commits one: its brand row locks are written). The disk is shared with whatever else runs."""
    samples = []
    for _ in range(15):
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT txid_current()")  # an xid: the commit record is flushed
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def database_sizes() -> str:
    """What must fit in memory for the passes not to read from the OS."""
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('shared_buffers'), "
            "pg_size_pretty(pg_database_size(current_database())), "
            "pg_size_pretty(sum(pg_total_relation_size(oid))), count(*) "
            "FROM pg_class WHERE relnamespace = 'pg_catalog'::regnamespace")
        shared, database, catalog, _ = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM pg_class")
        (relations,) = cursor.fetchone()
    return (f"PostgreSQL: shared_buffers {shared}, database {database}, of which the catalog "
            f"{catalog} ({relations} relations)")


@dataclass
class Cost:
    seconds: float
    worker_cpu: float | None = None
    postgres_cpu: float | None = None
    sql_seconds: float | None = None
    statements: int = 0
    own_cpu: float = 0.0  # this process's (an in-process pass)
    blocks_read: int = 0  # database-wide: pages PostgreSQL had to fetch from the OS ...
    blocks_hit: int = 0  # ... and pages it found in shared_buffers
    wal_syncs: int = 0  # commits (or groups of them) that waited for the disk

    def describe(self) -> str:
        parts = []
        if self.worker_cpu is not None:
            parts.append(f"worker CPU {self.worker_cpu:.1f} s")
        elif self.own_cpu >= 0.05:
            parts.append(f"bench CPU {self.own_cpu:.1f} s")
        if self.sql_seconds is not None:
            parts.append(f"{self.statements} statements, {self.sql_seconds:.1f} s in them")
        if self.postgres_cpu is not None:
            parts.append(f"PostgreSQL CPU {self.postgres_cpu:.1f} s")
        if self.blocks_read or self.blocks_hit:
            parts.append(f"pages read {self.blocks_read} / hit {self.blocks_hit}")
        if self.wal_syncs:
            parts.append(f"{self.wal_syncs} WAL flushes")
        return ", ".join(parts)


@contextmanager
def costed(worker: int | None = None) -> Iterator[Cost]:
    """Wall time of the block, with the CPU of the worker and of PostgreSQL meanwhile."""
    postmaster = postmaster_pid()
    cost = Cost(0.0)
    worker_before, pg_before = tree_cpu(worker), tree_cpu(postmaster)
    blocks_before, cpu_before = page_counts(), time.process_time()
    started = time.perf_counter()
    yield cost
    cost.seconds = time.perf_counter() - started
    cost.own_cpu = time.process_time() - cpu_before
    time.sleep(1.1)  # backends report their statistics at most once a second
    blocks_after = page_counts()
    cost.blocks_read, cost.blocks_hit, cost.wal_syncs = (
        after - before for after, before in zip(blocks_after, blocks_before, strict=True))
    worker_after, pg_after = tree_cpu(worker), tree_cpu(postmaster)
    if worker_before is not None and worker_after is not None:
        cost.worker_cpu = worker_after - worker_before
    if pg_before is not None and pg_after is not None:
        cost.postgres_cpu = pg_after - pg_before


@contextmanager
def sql_timed(cost: Cost, containing: str = "") -> Iterator[None]:
    """Time spent in this process's statements (those whose text has `containing`): the rest
    of an in-process pass is Python."""
    spent = [0.0, 0]

    def wrapper(execute: Callable[..., Any], sql: str, params: Any, many: bool,
                context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            if containing in sql:
                spent[0] += time.perf_counter() - started
                spent[1] += 1

    with connection.execute_wrapper(wrapper):
        yield
    cost.sql_seconds, cost.statements = spent[0], int(spent[1])


# --- building the agencies ----------------------------------------------------------------


def migrate_public() -> None:
    """Public and the template (tenants.signals) at the current code."""
    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)


def bring_up_to_date(schemas: Sequence[str]) -> None:
    """The bench's schemas at the current code when it has a tenant migration they lack (data
    built by an earlier version), as a deploy's `migrate` would do."""
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{settings.TENANT_BASE_SCHEMA}".django_migrations')
        wanted = cursor.fetchone()[0]
        behind = 0
        for schema in schemas:
            cursor.execute(f'SELECT count(*) FROM "{schema}".django_migrations')
            behind += cursor.fetchone()[0] < wanted
    if behind:
        say(f"  {behind} schemas lack migrations the template has: migrate_schemas ...")
        subprocess.run([sys.executable, "manage.py", "migrate_schemas", "--tenant",
                        "--executor=multiprocessing", "-v", "0"], cwd=ROOT, check=True)


def existing_agencies() -> list[Agency]:
    connection.set_schema_to_public()
    return list(Agency.objects.filter(slug__startswith=PREFIX + "-").order_by("slug"))


def campaigns_in(schema: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{schema}".campaigns_campaign')
        return int(cursor.fetchone()[0])


def drop_all(agencies: Sequence[Agency]) -> None:
    say(f"dropping {len(agencies)} agencies of an earlier build ...")
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        for n, agency in enumerate(agencies, 1):
            cursor.execute(f'DROP SCHEMA IF EXISTS "{agency.schema_name}" CASCADE')
            if n % 100 == 0:
                say(f"  dropped {n}/{len(agencies)}")
    Agency.objects.filter(pk__in=[a.pk for a in agencies]).delete()  # domains, tokens cascade


def fill_seed(campaigns: int) -> None:
    """The first agency's brands, campaigns, windows and spend, through the ORM."""
    brands = Brand.objects.bulk_create(
        Brand(name=f"Brand {k}", timezone=name, daily_budget=BRAND_CAP if k == 1 else None)
        for k, name in enumerate(zones_of(0, min(BRANDS, campaigns))))
    rows = []
    for k in range(campaigns):
        _, daily, monthly, _, dayparted, manual = ROLES[(k // len(brands)) % len(ROLES)]
        rows.append(Campaign(brand=brands[k % len(brands)], name=f"Campaign {k}",
                             daily_budget=daily, monthly_budget=monthly, dayparting=dayparted,
                             manual_paused=manual))
    created = Campaign.objects.bulk_create(rows)
    ScheduleWindow.objects.bulk_create(
        ScheduleWindow(campaign=c, day_of_week=d, start_minute=WINDOW[0], end_minute=WINDOW[1])
        for c in created if c.dayparting for d in range(7))
    roles = [ROLES[(k // len(brands)) % len(ROLES)] for k in range(len(created))]
    spent = [(c, role[3]) for c, role in zip(created, roles, strict=True) if role[3] is not None]
    Spend.objects.bulk_create(
        Spend(campaign=c, amount=amount, local_day=SPENT_DAY,
              occurred_at=datetime.combine(SPENT_DAY, wall_time(12), zone(c.brand.timezone)))
        for c, amount in spent)
    SpendTotal.objects.bulk_create(
        SpendTotal(campaign=c, period=period, period_start=start, amount=amount)
        for c, amount in spent
        for period, start in ((Period.DAY, SPENT_DAY), (Period.MONTH, SPENT_DAY.replace(day=1))))


LOCALIZE_BRANDS = """
UPDATE campaigns_brand b SET timezone = (%(zones)s::text[])[r.k]
FROM (SELECT id, row_number() OVER (ORDER BY id) AS k FROM campaigns_brand) r
WHERE r.id = b.id
"""
# Spend stays on SPENT_DAY in the brand's new zone: its instant is that day's local noon.
LOCALIZE_SPEND = """
UPDATE campaigns_spend s SET occurred_at = (s.local_day + time '12:00') AT TIME ZONE b.timezone
FROM campaigns_campaign c JOIN campaigns_brand b ON b.id = c.brand_id
WHERE c.id = s.campaign_id
"""


def clone_all(seed: str, indices: Sequence[int], brands: int, jobs: int) -> None:
    """Clone the seed into every missing schema, `jobs` connections at a time."""
    local = threading.local()
    opened: list[psycopg.Connection[Any]] = []

    def clone(i: int) -> None:
        if not hasattr(local, "db"):
            local.db = psycopg.connect(settings.DATABASE_URL)
            opened.append(local.db)
        with local.db.transaction():
            (code,) = local.db.execute("SELECT public.clone_schema(%s, %s, 'DATA')",
                                       [seed, schema_of(i)]).fetchone()
            if code != 0:
                raise RuntimeError(f"clone_schema into {schema_of(i)} returned {code}")
            local.db.execute(f'SET LOCAL search_path = "{schema_of(i)}"')
            local.db.execute(LOCALIZE_BRANDS, {"zones": zones_of(i, brands)})
            local.db.execute(LOCALIZE_SPEND)

    started = time.perf_counter()
    try:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(clone, i) for i in indices]
            for done, future in enumerate(as_completed(futures), 1):
                future.result()
                if done % 50 == 0 or done == len(futures):
                    elapsed = time.perf_counter() - started
                    eta = elapsed / done * (len(futures) - done)
                    say(f"  cloned {done}/{len(futures)} schemas in {elapsed:5.0f} s "
                        f"({elapsed / done * 1000:.0f} ms each, {eta:.0f} s to go, "
                        f"load {load()})")
    finally:
        for db in opened:
            db.close()


def register(indices: Sequence[int]) -> None:
    """Agency, Domain and ApiToken rows for the cloned schemas: one INSERT per table."""
    connection.set_schema_to_public()
    with transaction.atomic():
        agencies = Agency.objects.bulk_create(
            Agency(name=f"Scale {i:04d}", slug=slug_of(i), schema_name=schema_of(i))
            for i in indices)
        Domain.objects.bulk_create(
            Domain(domain=tenant_domain(a.slug), tenant=a, is_primary=True) for a in agencies)
        ApiToken.objects.bulk_create(
            ApiToken(agency=a, name=SIGNUP_TOKEN_NAME, prefix=f"sc{uuid.uuid4().hex[:14]}",
                     secret_hash=uuid.uuid4().hex + uuid.uuid4().hex, scopes=list(SCOPES))
            for a in agencies)


def build(agencies: int, campaigns: int, jobs: int, settle_at: datetime) -> None:
    started = time.perf_counter()
    say(f"building {agencies} agencies x {campaigns} campaigns (load {load()}) ...")
    connection.set_schema_to_public()
    if not Agency.objects.filter(slug=slug_of(0)).exists():
        seed = create_agency(name="Scale 0000", slug=slug_of(0), email="owner@scale-0000.test",
                             password=PASSWORD).agency
        with schema_context(seed.schema_name):
            fill_seed(campaigns)
        say(f"  signed up {seed.slug} and filled it ({time.perf_counter() - started:.1f} s)")
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE %s",
                       [PREFIX + "\\_%"])
        present = {row[0] for row in cursor.fetchall()}
    missing = [i for i in range(1, agencies) if schema_of(i) not in present]
    clone_all(schema_of(0), missing, min(BRANDS, campaigns), jobs)
    registered = set(Agency.objects.filter(slug__startswith=PREFIX + "-")
                     .values_list("slug", flat=True))
    register([i for i in range(1, agencies) if slug_of(i) not in registered])
    # The clones' statuses are the seed's: the first pass writes most of them, and the next
    # read of each table pays for that write (hint bits, pruning). Both are the build's, not a
    # measured minute's.
    _, seconds = timed(lambda: run_all_tenants(settle_at))
    say(f"  first full pass (stores every campaign's status) in {seconds:.0f} s")
    _, seconds = timed(lambda: run_all_tenants(settle_at))
    say(f"  and a second one, reading what the first wrote, in {seconds:.0f} s")
    say(f"built in {time.perf_counter() - started:.0f} s")


def reusable(existing: Sequence[Agency], agencies: int, campaigns: int) -> bool:
    """An earlier build of this size (perhaps interrupted: `build` completes it)."""
    wanted = {slug_of(i) for i in range(agencies)}
    return (bool(existing) and existing[0].slug == slug_of(0)
            and all(a.slug in wanted for a in existing)
            and campaigns_in(existing[0].schema_name) == campaigns)


def prepare(options: argparse.Namespace, settle_at: datetime) -> list[str]:
    """The bench's agencies, built or reused; their schema names."""
    migrate_public()
    existing = existing_agencies()
    size = (options.agencies, options.campaigns_per_agency)
    if options.reuse and reusable(existing, *size) and len(existing) == options.agencies:
        say(f"reusing {len(existing)} agencies x {size[1]} campaigns in {DATA}")
    else:
        if existing and not (options.reuse and reusable(existing, *size)):
            drop_all(existing)
        build(*size, options.build_jobs, settle_at)
    schemas = [schema_of(i) for i in range(options.agencies)]
    bring_up_to_date(schemas)
    return schemas


# --- reading the stored state -------------------------------------------------------------


State = dict[tuple[str, int], tuple[str, tuple[str, ...]]]


def stored_state(schemas: Sequence[str], zone_name: str | None = None) -> State:
    """Every campaign's stored (status, reasons), of the brands in `zone_name` when given."""
    state: State = {}
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        for schema in schemas:
            cursor.execute(
                f'SELECT c.id, c.status, c.pause_reasons FROM "{schema}".campaigns_campaign c '
                f'JOIN "{schema}".campaigns_brand b ON b.id = c.brand_id '
                "WHERE %(zone)s::text IS NULL OR b.timezone = %(zone)s", {"zone": zone_name})
            for campaign, status, reasons in cursor.fetchall():
                state[(schema, campaign)] = (status, tuple(reasons))
    return state


def wrong_statuses(schemas: Sequence[str], at: datetime) -> int:
    """Campaigns whose stored status or reasons are not what the rules say at `at`."""
    wrong = 0
    for schema in schemas:
        with schema_context(schema):
            current = selectors.snapshot(at)
            with connection.cursor() as cursor:
                cursor.execute("SELECT id, status FROM campaigns_campaign")
                statuses = dict(cursor.fetchall())
            for campaign_id, evaluation in current.evaluate_all().items():
                expected = "active" if evaluation.can_run else "paused"
                if (evaluation.ordered_reasons() != current.campaigns[campaign_id].stored_reasons
                        or statuses[campaign_id] != expected):
                    wrong += 1
    return wrong


def changes(before: State, after: State) -> str:
    moved = Counter((before[key][0], after[key][0]) for key in before
                    if key in after and before[key] != after[key])
    resumed = moved.pop(("paused", "active"), 0)
    paused = moved.pop(("active", "paused"), 0)
    reasons = sum(moved.values())
    return f"{resumed} resumed, {paused} paused, {reasons} changed reasons only"


# --- the passes ---------------------------------------------------------------------------


def report(label: str, cost: Cost, agencies: int, note: str = "") -> None:
    say(f"{label:<44} {cost.seconds:7.2f} s  {cost.seconds / PERIOD:6.1%} of the "
        f"{PERIOD:.0f} s period  {cost.seconds / agencies * 1000:5.1f} ms/agency  load {load()}")
    details = ", ".join(filter(None, [note, cost.describe()]))
    if details:
        say(f"{'':<44} {details}")


def in_process(label: str, schemas: Sequence[str], at: datetime) -> tuple[Cost, int]:
    with costed() as cost, sql_timed(cost):
        results = run_all_tenants(at)
    changed = sum(len(r.transitions) for r in results)
    report(label, cost, len(schemas), f"{len(results)} passes, {changed} campaigns changed")
    return cost, changed


def due_in_process(label: str, schemas: Sequence[str], at: datetime) -> tuple[Cost, int]:
    """What the minute's dispatcher and the due passes it sends do, in this process."""
    connection.set_schema_to_public()
    with costed() as cost, sql_timed(cost):
        results = [run_for_schema(schema, at, only_due=True) for schema in due.due_agencies(at)]
    changed = sum(len(r.transitions) for r in results)
    brands = sum(r.brands for r in results)
    report(label, cost, len(schemas), f"{len(results)} passes deciding {brands} brands, "
           f"{changed} campaigns changed")
    return cost, changed


class Worker:
    """A real `celery -A saas worker` (prefork, 2 processes) on the bench's broker."""

    def __init__(self) -> None:
        self.log = DATA / "bench-scale-worker.log"
        self.broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        queue = celery_app.conf.task_default_queue
        self.broker.delete(queue, *(f"{queue}\x06\x16{p}" for p in (3, 6, 9)), "unacked",
                           "unacked_index")
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        env.pop("DJANGO_SETTINGS_MODULE", None)
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [str(CELERY), "-A", "saas", "worker", "--pool", "prefork", "--concurrency", "2",
                 "--loglevel", "INFO", "--without-gossip", "--without-mingle"],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while not celery_app.control.ping(timeout=0.5):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise SystemExit(f"the worker did not start; see {self.log}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            self.process.wait(timeout=60)

    def pending(self) -> int:
        queue = celery_app.conf.task_default_queue
        lists = [queue, *(f"{queue}\x06\x16{p}" for p in (3, 6, 9))]
        return sum(int(self.broker.llen(key)) for key in lists) + int(self.broker.hlen("unacked"))

    def dispatch(self, at: datetime, *, full: bool = True) -> tuple[Cost, str]:
        """dispatch_full_passes(at) (or dispatch_passes(at), the due-driven minute, unless
        `full`) sent to the worker; the clock stops when the worker has finished every pass the
        dispatcher enqueued (its log says how many, then each one ending)."""
        assert self.process is not None
        tail = LogTail(self.log)
        connection.set_schema_to_public()  # the dispatcher runs in the public schema
        dispatcher = dispatch_full_passes if full else dispatch_passes
        with costed(self.process.pid) as cost:
            dispatcher.apply_async(kwargs={"at": at.isoformat()})
            deadline = time.monotonic() + 300
            while not tail.finished(self.pending):
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise SystemExit(f"the worker did not finish the passes; see {self.log}")
                time.sleep(0.01)
        return cost, tail.summary()


DISPATCHERS = ("campaigns.dispatch_passes", "campaigns.dispatch_full_passes")
# Celery's worker log (INFO): one line as each task ends, however it ends.
ENDED = re.compile(r"Task (?P<name>\S+)\[[^\]]+\] (?:succeeded in (?P<seconds>[0-9.e-]+)s: "
                   r"(?P<value>.*)|raised unexpected)|Discarding revoked task: (?P<dropped>\S+)\[")


class LogTail:
    """The worker's log from now on: which tasks ended, and how long each ran inside."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = path.stat().st_size
        self.runs: dict[str, list[float]] = {}
        self.failed = self.dropped = self.passes_ended = 0
        self.enqueued: int | None = None
        self.dispatched = False

    def read(self) -> None:
        with self.path.open("rb") as log:
            log.seek(self.offset)
            chunk = log.read()
        complete = chunk[:chunk.rfind(b"\n") + 1]  # a line still being written waits
        self.offset += len(complete)
        for match in ENDED.finditer(complete.decode(errors="replace")):
            name = match["name"] or match["dropped"]
            if match["dropped"]:
                self.dropped += 1
            elif match["seconds"] is None:
                self.failed += 1
            else:
                self.runs.setdefault(name, []).append(float(match["seconds"]))
            if name in DISPATCHERS:
                self.dispatched = True
                value = (match["value"] or "").strip()
                self.enqueued = int(value) if value.isdigit() else None
            else:
                self.passes_ended += 1

    def finished(self, pending: Callable[[], int]) -> bool:
        """The dispatcher ended and so did every pass it enqueued (when it does not say how
        many: the broker holds nothing, queued or unacknowledged)."""
        self.read()
        if not self.dispatched:
            return False
        if self.enqueued is not None:
            return self.passes_ended >= self.enqueued
        return pending() == 0

    def summary(self) -> str:
        parts = [f"{len(v)} x {name.rsplit('.', 1)[-1]} ({sum(v):.1f} s inside)"
                 for name, v in self.runs.items()]
        if self.dropped:
            parts.append(f"{self.dropped} DISCARDED (expired)")
        if self.failed:
            parts.append(f"{self.failed} FAILED")
        return ", ".join(parts) or "no task ran"


@dataclass
class Scenario:
    midnight: datetime
    wrong: dict[str, int] = field(default_factory=dict)
    figures: list[str] = field(default_factory=list)

    def add(self, label: str, cost: Cost) -> None:
        self.figures.append(f"{label:<42} {cost.seconds:8.2f} s   {cost.seconds / PERIOD:6.1%} "
                            f"of the {PERIOD:.0f} s period")

    def check(self, label: str, schemas: Sequence[str], at: datetime) -> None:
        wrong, seconds = timed(lambda: wrong_statuses(schemas, at))
        self.wrong[label] = wrong
        say(f"{'  stored status wrong after it':<44} {wrong:7d}   (must be 0; checked every "
            f"campaign in {seconds:.0f} s)")


def passes(schemas: Sequence[str], zone_name: str, scenario: Scenario) -> None:
    m = scenario.midnight
    setup, quiet_in, quiet_worker, midnight = (m - SETUP,
                                               m - timedelta(seconds=120),
                                               m - timedelta(seconds=60), m + timedelta(seconds=1))
    say(f"\n== the periodic pass: {zone_name} midnight is {m.isoformat()} "
        f"(2026-06-10 00:00 local)")
    in_process("setup: full pass in process (M - 180 s)", schemas, setup)
    connection.close()  # a new backend: no schema's catalog entries cached yet
    cost, _ = in_process("quiet minute in process, new connection", schemas, quiet_in)
    scenario.add("quiet minute, in process, new connection", cost)
    cost, _ = in_process("quiet minute in process, same connection", schemas, quiet_in)
    scenario.add("quiet minute, in process, same connection", cost)
    scenario.check("quiet, in process", schemas, quiet_in)
    cost, _ = due_in_process("DUE quiet minute in process", schemas, quiet_in)
    scenario.add("DUE quiet minute, in process", cost)
    scenario.check("DUE quiet, in process", schemas, quiet_in)

    worker = Worker()
    worker.start()
    try:
        worker.dispatch(quiet_in)  # warm-up: every worker process has its connection
        cost, tasks = worker.dispatch(quiet_worker)
        report("FULL quiet minute via a worker (2 processes)", cost, len(schemas), tasks)
        scenario.add("FULL quiet minute, real worker (2 processes)", cost)
        scenario.check("FULL quiet, worker", schemas, quiet_worker)

        before = stored_state(schemas, zone_name)
        cost, tasks = worker.dispatch(midnight)
        report(f"FULL {zone_name} midnight via the worker", cost, len(schemas), tasks)
        say(f"{'':<44} {len(before)} campaigns in {zone_name}: "
            f"{changes(before, stored_state(schemas, zone_name))}")
        scenario.add(f"FULL {zone_name} midnight, real worker", cost)
        scenario.check("FULL midnight, worker", schemas, midnight)

        run_all_tenants(setup)  # back to the eve: the markers are what a full pass leaves
        cost, tasks = worker.dispatch(quiet_worker, full=False)
        report("DUE quiet minute via the worker", cost, len(schemas), tasks)
        scenario.add("DUE quiet minute, real worker (2 processes)", cost)
        scenario.check("DUE quiet, worker", schemas, quiet_worker)

        before = stored_state(schemas, zone_name)
        cost, tasks = worker.dispatch(midnight, full=False)
        report(f"DUE {zone_name} midnight via the worker", cost, len(schemas), tasks)
        say(f"{'':<44} {len(before)} campaigns in {zone_name}: "
            f"{changes(before, stored_state(schemas, zone_name))}")
        scenario.add(f"DUE {zone_name} midnight, real worker", cost)
        scenario.check("DUE midnight, worker", schemas, midnight)
    finally:
        worker.stop()

    run_all_tenants(setup)  # back to the eve, for the in-process reference
    cost, _ = in_process(f"FULL {zone_name} midnight in process (reference)", schemas, midnight)
    scenario.add(f"FULL {zone_name} midnight, in process", cost)
    scenario.check("FULL midnight, in process", schemas, midnight)
    run_all_tenants(setup)
    cost, _ = due_in_process(f"DUE {zone_name} midnight in process", schemas, midnight)
    scenario.add(f"DUE {zone_name} midnight, in process", cost)
    scenario.check("DUE midnight, in process", schemas, midnight)
    say(f"{'':<44} a commit waiting for its WAL flush now takes "
        f"{commit_latency() * 1000:.1f} ms (median)")


# --- signup -------------------------------------------------------------------------------


def signups(samples: int, present: int) -> str:
    """Real create_agency calls: with a spare ready (the beat entry refills them every minute;
    here before each signup, untimed) and, as the baseline, with none (the clone signups did
    before tenants.spares), alternating."""
    say(f"\n== signup with {present} agencies present ({samples} real create_agency calls "
        f"each way, alternating)")
    from django.contrib.auth.hashers import make_password

    hashing = statistics.median(timed(lambda: make_password(PASSWORD))[1] for _ in range(3))
    prefix = f"sg{uuid.uuid4().hex[:6]}"
    latencies: dict[str, list[float]] = {"spare": [], "clone": []}
    try:
        for n in range(samples):
            for way in ("spare", "clone"):
                spares.refill()
                settings.TENANT_SPARE_SCHEMAS = 3 if way == "spare" else 0
                slug = f"{prefix}-{way[0]}{n}"
                _, seconds = timed(functools.partial(
                    create_agency, name=f"Bench {slug}", slug=slug, email=f"owner@{slug}.test",
                    password=PASSWORD))
                latencies[way].append(seconds)
    finally:
        settings.TENANT_SPARE_SCHEMAS = 3
        connection.set_schema_to_public()
        for agency in Agency.objects.filter(slug__startswith=prefix + "-"):
            agency.delete(force_drop=True)
        spares.refill()
    figures = {}
    for way, label in (("clone", "cloning the template (baseline)"),
                       ("spare", "renaming a spare")):
        values = latencies[way]
        median = statistics.median(values)
        p99 = statistics.quantiles(values, n=100, method="inclusive")[98]
        figures[way] = (median, p99)
        say(f"{'signup, ' + label:<44} median {median * 1000:5.0f} ms, p99 {p99 * 1000:5.0f} ms"
            f"  ({p99 / SIGNUP_GOAL:4.2f} x the {SIGNUP_GOAL:.0f} s goal; max "
            f"{max(values) * 1000:.0f} ms)")
    (spare_median, spare_p99), (clone_median, _) = figures["spare"], figures["clone"]
    say(f"{'':<44} median ratio spare / clone {spare_median / clone_median:.2f}; of a signup, "
        f"hashing the password (PBKDF2) takes {hashing * 1000:.0f} ms; load {load()}")
    return (f"{'signup median / p99 (spare)':<42} {spare_median * 1000:5.0f} / "
            f"{spare_p99 * 1000:.0f} ms   goal < {SIGNUP_GOAL * 1000:.0f} ms; cloning "
            f"{clone_median * 1000:.0f} ms median")


# --- a backend's memory -------------------------------------------------------------------


MEMORY_SQL = """
SELECT sum(total_bytes),
       sum(total_bytes) FILTER (WHERE name = 'CacheMemoryContext' OR parent = 'CacheMemoryContext'),
       sum(total_bytes) FILTER (WHERE name LIKE %s),
       (SELECT count(*) FROM pg_prepared_statements)
FROM pg_backend_memory_contexts
"""


def backend_memory() -> dict[str, float]:
    pid = backend_pid()
    sizes: dict[str, float] = {}
    status = Path(f"/proc/{pid}/status")
    if status.exists():
        for line in status.read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "RssAnon"):
                sizes[name] = int(value.split()[0]) / 1024
    with connection.cursor() as cursor:
        cursor.execute(MEMORY_SQL, ["CachedPlan%"])
        total, cache, plans, prepared = cursor.fetchone()
    sizes.update(contexts=(total or 0) / 2**20, catalog=(cache or 0) / 2**20,
                 plans=(plans or 0) / 2**20, prepared=float(prepared))
    return sizes


def memory(schemas: Sequence[str], at: datetime) -> str:
    """A spend in every agency on one connection: without a limit on the schemas a connection
    serves (the baseline: the backend keeps every schema's catalog entries and plans), then with
    DATABASE_SCHEMAS_PER_CONNECTION (saas.schemas_per_connection)."""
    limit = settings.DATABASE_SCHEMAS_PER_CONNECTION
    say(f"\n== the PostgreSQL backend serving a spend in each of {len(schemas)} agencies, "
        f"without and with the limit of {limit} schemas per connection")
    with schema_context(schemas[0]):
        target = Campaign.objects.filter(daily_budget__isnull=True, monthly_budget__isnull=True,
                                         manual_paused=False, dayparting=False,
                                         brand__daily_budget__isnull=True).order_by("id")[0].pk
    lasts = {}
    for label, served in (("no limit (baseline)", 10**9), (f"limit {limit}", limit)):
        settings.DATABASE_SCHEMAS_PER_CONNECTION = served
        try:
            lasts[label] = memory_round(label, schemas, target, at)
        finally:
            settings.DATABASE_SCHEMAS_PER_CONNECTION = limit
    (base_label, base), (new_label, new) = lasts.items()
    say(f"{'backend private memory after all agencies':<44} {base:6.1f} MB {base_label}, "
        f"{new:.1f} MB {new_label} ({new / max(base, 0.1):.2f})")
    return (f"{f'backend private memory, {len(schemas)} agencies':<42} {new:8.1f} MB   "
            f"{base:.1f} MB without the limit ({new / max(base, 0.1):.2f})")


def memory_round(label: str, schemas: Sequence[str], target: int, at: datetime) -> float:
    connection.close()  # a fresh backend
    samples = []
    started = time.perf_counter()
    for n, schema in enumerate(schemas, 1):
        with schema_context(schema):
            record_spend(SpendEvent(target, Decimal("0.01"), at, None), now=at)
        if n in (1, 10, 100, 500) or n == len(schemas):
            samples.append((n, backend_memory()))
    seconds = time.perf_counter() - started
    say(f"  {label}:")
    for n, sizes in samples:
        say(f"  after {n:5d} agencies: RSS {sizes.get('VmRSS', 0):6.1f} MB (private "
            f"{sizes.get('RssAnon', 0):6.1f} MB), memory contexts {sizes['contexts']:6.1f} MB: "
            f"catalog caches {sizes['catalog']:6.1f} MB, plans {sizes['plans']:5.1f} MB of "
            f"{sizes['prepared']:.0f} prepared statements")
    say(f"{'':<44} a spend in each agency: {seconds / len(schemas) * 1000:.1f} ms each")
    connection.close()
    return float(samples[-1][1].get("RssAnon", 0.0))


# --- migrate ------------------------------------------------------------------------------


PROBE_MODELS = '''
from django.db import models


class Probe(models.Model):
    """A table one new tenant migration adds (bench/scale.py; never part of the service)."""

    note = models.CharField(max_length=40, default="")
'''
PROBE_MIGRATION = '''
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel(
            name="Probe",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False)),
                ("note", models.CharField(default="", max_length=40)),
            ],
        ),
    ]
'''
PROBE_SETTINGS = f'''
from saas.settings import *  # noqa
from saas.settings import INSTALLED_APPS, TENANT_APPS

TENANT_APPS = [*TENANT_APPS, "{PROBE_APP}"]
INSTALLED_APPS = [*INSTALLED_APPS, "{PROBE_APP}"]
'''


def write_probe(directory: Path) -> None:
    package = directory / PROBE_APP
    (package / "migrations").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "migrations" / "__init__.py").write_text("")
    (package / "models.py").write_text(textwrap.dedent(PROBE_MODELS))
    (package / "migrations" / "0001_initial.py").write_text(textwrap.dedent(PROBE_MIGRATION))
    (directory / f"{PROBE_APP}_settings.py").write_text(textwrap.dedent(PROBE_SETTINGS))


def remove_probe() -> int:
    """Everything the probe migration added, in every schema: its table, its migration record,
    its content type and permissions. One short transaction per schema."""
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute("SELECT n.nspname FROM pg_class c JOIN pg_namespace n "
                       "ON n.oid = c.relnamespace WHERE c.relname = 'django_migrations'")
        schemas = [row[0] for row in cursor.fetchall()]
        removed = 0
        for schema in schemas:
            cursor.execute(f'SELECT to_regclass(\'"{schema}".{PROBE_APP}_probe\'), '
                           f'EXISTS (SELECT 1 FROM "{schema}".django_migrations WHERE app = %s)',
                           [PROBE_APP])
            table, recorded = cursor.fetchone()
            with transaction.atomic():
                if table or recorded:
                    removed += 1
                    cursor.execute(f'DROP TABLE IF EXISTS "{schema}".{PROBE_APP}_probe')
                    cursor.execute(f'DELETE FROM "{schema}".django_migrations WHERE app = %s',
                                   [PROBE_APP])
                cursor.execute(f"SELECT to_regclass('\"{schema}\".auth_permission')")
                if cursor.fetchone()[0]:
                    cursor.execute(
                        f'DELETE FROM "{schema}".auth_permission WHERE content_type_id IN '
                        f'(SELECT id FROM "{schema}".django_content_type WHERE app_label = %s)',
                        [PROBE_APP])
                    cursor.execute(
                        f'DELETE FROM "{schema}".django_content_type WHERE app_label = %s',
                        [PROBE_APP])
    return removed


def probe_tables() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_class WHERE relname = %s AND relkind = 'r'",
                       [f"{PROBE_APP}_probe"])
        return int(cursor.fetchone()[0])


def migrate(executors: Sequence[str], agencies: int) -> list[str]:
    say(f"\n== migrate_schemas applying one new tenant migration to {agencies} agencies "
        f"(+ public and the template)")
    figures = []
    directory = Path(tempfile.mkdtemp(prefix="bench-scale-probe-"))
    try:
        write_probe(directory)
        env = dict(os.environ, DJANGO_SETTINGS_MODULE=f"{PROBE_APP}_settings",
                   PYTHONPATH=os.pathsep.join([str(directory), str(ROOT)]))
        for executor in executors:
            remove_probe()
            log = DATA / f"bench-scale-migrate-{executor}.log"
            with log.open("wb") as out:
                children = resource.getrusage(resource.RUSAGE_CHILDREN)
                started = time.perf_counter()
                done = subprocess.run(
                    [sys.executable, "manage.py", "migrate_schemas", f"--executor={executor}",
                     "--noinput", "-v", "1"], cwd=ROOT, env=env, stdout=out,
                    stderr=subprocess.STDOUT, check=False)
                seconds = time.perf_counter() - started
                used = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu = (used.ru_utime + used.ru_stime) - (children.ru_utime + children.ru_stime)
            applied = probe_tables()
            say(f"{f'migrate_schemas --executor={executor}':<44} {seconds:7.1f} s  "
                f"{seconds / MIGRATE_GOAL:5.2f} x the {MIGRATE_GOAL:.0f} s goal   "
                f"{applied} schemas got the table, exit {done.returncode}, load {load()}")
            say(f"{'':<44} {seconds / max(applied, 1) * 1000:.0f} ms per schema, migrate's own "
                f"CPU {cpu:.0f} s; log {log}")
            figures.append(f"{f'migrate, {executor}':<42} {seconds:8.1f} s   goal < "
                           f"{MIGRATE_GOAL:.0f} s")
    finally:
        shutil.rmtree(directory, ignore_errors=True)
        removed = remove_probe()
        say(f"  removed the probe migration from {removed} schemas")
    return figures


# --- main ---------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agencies", type=int, default=1000)
    parser.add_argument("--campaigns-per-agency", type=int, default=100)
    parser.add_argument("--zone", default="Europe/Berlin", choices=ZONES,
                        help="whose midnight the run plays")
    parser.add_argument("--reuse", action="store_true",
                        help="keep the agencies an earlier run built (same size)")
    parser.add_argument("--build-jobs", type=int, default=2, help="connections cloning schemas")
    parser.add_argument("--signups", type=int, default=20)
    parser.add_argument("--skip-migrate", action="store_true")
    parser.add_argument("--migrate-executors", default="batch,multiprocessing")
    options = parser.parse_args()

    started = time.perf_counter()
    say(f"bench/scale.py: {options.agencies} agencies x {options.campaigns_per_agency} campaigns"
        f" = {options.agencies * options.campaigns_per_agency}, brands in {len(ZONES)} zones; "
        f"{os.cpu_count()} cores, load {load()}")
    if not options.skip_migrate:
        remove_probe()  # left behind by an interrupted run?
    scenario = Scenario(midnight=clock.day_start(DAY, zone(options.zone)))
    schemas = prepare(options, settle_at=scenario.midnight - SETUP)
    say(database_sizes())
    say(f"a commit waiting for its WAL flush takes {commit_latency() * 1000:.1f} ms (median, now)")
    passes(schemas, options.zone, scenario)
    figures = list(scenario.figures)
    figures.append(signups(options.signups, len(schemas)))
    figures.append(memory(schemas, scenario.midnight + timedelta(seconds=2)))
    if not options.skip_migrate:
        figures += migrate(options.migrate_executors.split(","), len(schemas))

    say(f"\n== summary: {len(schemas)} agencies x {options.campaigns_per_agency} campaigns, "
        f"{time.perf_counter() - started:.0f} s in all, load {load()}")
    for line in figures:
        say(f"  {line}")
    for label, wrong in scenario.wrong.items():
        say(f"  {f'stored status wrong after {label}':<46} {wrong:4d}     (must be 0)")
    return 0 if not any(scenario.wrong.values()) else 1


if __name__ == "__main__":
    sys.exit(main())

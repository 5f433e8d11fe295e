"""The periodic pass over every agency, timed beside the 60 s period it must fit in.

    make bench-jobs       # embedded PostgreSQL, or the database at DATABASE_URL
    python bench/jobs.py [--agencies 50] [--campaigns 100] [--worker]

Creates N agencies (the real signup path, `create_agency`) with 5 brands each in zones from
Sydney to New York, and M campaigns per agency: a quarter dayparted (all-day windows), half with
their daily budget used up by spend on the previous local day (ledger rows and totals inserted
set-based). Then, in-process, through `run_all_tenants` (the code `run_jobs` and the Celery tasks
use):

  1. the eve pass, before the first brand's midnight: pauses the half that used up its budget;
  2. the midnight pass, as the last brand's local day begins: every campaign must resume;
  3. a steady pass a minute later: nothing changes (what most minutes look like).

`--worker` then pauses them again and times the same work through a real Celery worker
(`celery -A saas worker`, prefork, one process per core): `dispatch_full_passes` fans out one task
per agency, and the clock stops when every campaign is active. Everything the run creates is
dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-never-used-to-serve-anything")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from campaigns import clock  # noqa: E402
from campaigns.models import (  # noqa: E402
    Brand,
    Campaign,
    Period,
    ScheduleWindow,
    Spend,
    SpendTotal,
)
from campaigns.selectors import zone  # noqa: E402
from campaigns.tenant_passes import run_all_tenants  # noqa: E402
from saas.db import connection  # noqa: E402
from tenants.models import Agency  # noqa: E402
from tenants.services import create_agency  # noqa: E402

PERIOD = 60.0
TARGET = PERIOD / 3
ZONES = ["Australia/Sydney", "Asia/Kathmandu", "Europe/Berlin", "America/Sao_Paulo",
         "America/New_York"]
DAY = date(2026, 6, 10)  # the local day that begins during the run, in every zone
BUDGET = Decimal("10.00")
T = TypeVar("T")


def timed(action: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    value = action()
    return value, time.perf_counter() - started


def midnights() -> list[datetime]:
    return [clock.day_start(DAY, zone(name)) for name in ZONES]


def create_agencies(prefix: str, count: int) -> list[Agency]:
    # Signup hashes the owner's password the production way (~0.2 s); not what is measured here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    agencies = []
    for i in range(count):
        slug = f"{prefix}-{i:03d}"
        agencies.append(create_agency(name=f"Bench {slug}", slug=slug,
                                      email=f"owner@{slug}.test", password="bench-Pw-42").agency)
    return agencies


def populate(schema: str, campaigns: int, spent_at: datetime) -> None:
    """Brands in every zone and campaigns over them; even ones spent their budget at `spent_at`
    (the previous local day in every zone). One INSERT per table."""
    with schema_context(schema):
        brands = Brand.objects.bulk_create(
            Brand(name=f"Brand {name}", timezone=name) for name in ZONES)
        rows = Campaign.objects.bulk_create(
            Campaign(brand=brands[i % len(brands)], name=f"Campaign {i}", daily_budget=BUDGET,
                     dayparting=(i % 4 == 1))
            for i in range(campaigns))
        ScheduleWindow.objects.bulk_create(
            ScheduleWindow(campaign=c, day_of_week=d, start_minute=0, end_minute=1440)
            for c in rows if c.dayparting for d in range(7))
        spent = [c for i, c in enumerate(rows) if i % 2 == 0]
        Spend.objects.bulk_create(
            Spend(campaign=c, amount=BUDGET, occurred_at=spent_at,
                  local_day=clock.local_day(spent_at, zone(c.brand.timezone)))
            for c in spent)
        SpendTotal.objects.bulk_create(
            SpendTotal(campaign=c, period=period, period_start=start, amount=BUDGET)
            for c in spent
            for period, start in (
                (Period.DAY, clock.local_day(spent_at, zone(c.brand.timezone))),
                (Period.MONTH, clock.local_month(spent_at, zone(c.brand.timezone)))))


def count_by_status(schemas: list[str]) -> dict[str, int]:
    """Campaign statuses over every agency, in one query."""
    union = " UNION ALL ".join(
        f'SELECT status FROM "{schema}".campaigns_campaign' for schema in schemas)
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT status, count(*) FROM ({union}) s GROUP BY status")
        return dict(cursor.fetchall())


def report(label: str, seconds: float, agencies: int, changed: int) -> None:
    print(f"{label:<34} {seconds:7.2f} s   {seconds / PERIOD:6.1%} of the {PERIOD:.0f} s "
          f"period   {seconds / agencies * 1000:6.1f} ms/agency   {changed} changed")


def via_worker(schemas: list[str], total: int, eve: datetime) -> float:
    """Pause them again, then time dispatch -> every campaign active through a real worker."""
    from campaigns.tasks import dispatch_full_passes

    run_all_tenants(eve)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.pop("DJANGO_SETTINGS_MODULE", None)
    log = Path(settings.BASE_DIR) / ".data" / "bench-worker.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [str(Path(sys.executable).parent / "celery"), "-A", "saas", "worker",
             "--loglevel", "WARNING", "--without-gossip", "--without-mingle"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        time.sleep(4)  # the worker's pool is up (its start is not part of the pass)
        started = time.perf_counter()
        dispatch_full_passes()
        while count_by_status(schemas).get("active", 0) < total:
            if time.perf_counter() - started > 120:
                raise SystemExit(f"the worker did not resume everything; see {log}")
            time.sleep(0.05)
        return time.perf_counter() - started
    finally:
        os.killpg(worker.pid, 15)
        worker.wait(timeout=30)


def cleanup(prefix: str) -> None:
    connection.set_schema_to_public()
    for agency in Agency.objects.filter(slug__startswith=prefix + "-"):
        agency.delete(force_drop=True)  # drops the schema; domain and tokens cascade


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agencies", type=int, default=50)
    parser.add_argument("--campaigns", type=int, default=100, help="per agency")
    parser.add_argument("--worker", action="store_true", help="also time a real worker")
    options = parser.parse_args()

    starts = midnights()
    eve = min(starts) - timedelta(seconds=30)  # every brand is still on the previous day
    at = max(starts) + timedelta(seconds=1)  # every brand's new day has begun
    spent_at = eve - timedelta(minutes=1)
    prefix = f"bj{uuid.uuid4().hex[:6]}"
    total = options.agencies * options.campaigns
    print(f"{options.agencies} agencies x {options.campaigns} campaigns = {total}; brands in "
          f"{', '.join(ZONES)}")
    print(f"eve {eve.isoformat()}, midnight pass at {at.isoformat()} "
          f"(= {at.astimezone(zone(ZONES[-1])).isoformat()} in {ZONES[-1]})")
    try:
        agencies, seconds = timed(lambda: create_agencies(prefix, options.agencies))
        print(f"{'created agencies (signup)':<34} {seconds:7.2f} s")
        schemas = [a.schema_name for a in agencies]
        started = time.perf_counter()
        for schema in schemas:
            populate(schema, options.campaigns, spent_at)
        seconds = time.perf_counter() - started
        print(f"{'inserted brands, campaigns, spend':<34} {seconds:7.2f} s")

        results, seconds = timed(lambda: run_all_tenants(eve))
        report("eve pass (pauses the spent half)", seconds, len(results),
               sum(len(r.transitions) for r in results))
        paused = count_by_status(schemas).get("paused", 0)
        spent = options.agencies * ((options.campaigns + 1) // 2)
        assert paused == spent, f"{paused} paused before midnight, not {spent}"

        results, midnight_seconds = timed(lambda: run_all_tenants(at))
        report("midnight pass (everything resumes)", midnight_seconds, len(results),
               sum(len(r.transitions) for r in results))
        statuses = count_by_status(schemas)
        assert statuses == {"active": total}, f"not every campaign resumed: {statuses}"

        results, seconds = timed(lambda: run_all_tenants(at + timedelta(minutes=1)))
        report("steady pass (nothing changes)", seconds, len(results),
               sum(len(r.transitions) for r in results))

        if options.worker:
            seconds = via_worker(schemas, total, eve)
            report("midnight pass via a real worker", seconds, options.agencies, spent)

        print(f"\nmidnight pass: {midnight_seconds:.2f} s for {options.agencies} agencies "
              f"= {midnight_seconds / PERIOD:.1%} of the {PERIOD:.0f} s period "
              f"(target < {TARGET:.0f} s: {'met' if midnight_seconds < TARGET else 'MISSED'}); "
              f"all {total} campaigns resumed")
        return 0 if midnight_seconds < TARGET else 1
    finally:
        cleanup(prefix)


if __name__ == "__main__":
    sys.exit(main())

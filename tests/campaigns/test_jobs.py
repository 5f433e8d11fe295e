"""The periodic pass for one agency (`campaigns.jobs.run_pass`) and for all of them
(`campaigns.tenant_passes`): bounded queries, idempotence, no interleaving, failure isolation."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from django.db import connection as django_connection
from django_tenants.utils import schema_context

from campaigns import jobs
from campaigns.models import Brand, Campaign, Period, ScheduleWindow, SpendTotal, StatusChange
from campaigns.tenant_passes import ready_agencies, run_all_tenants, run_for_schema
from saas.db import connection
from tenants.models import Agency
from tests.conftest import Api, make_tenant

pytestmark = pytest.mark.django_db

# A Tuesday; 12:00 UTC is 17:45 in Kathmandu, 07:00 in New York, 23:00 in Sydney.
AT = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
ZONES = ["Asia/Kathmandu", "America/New_York", "Australia/Sydney", "UTC", "Pacific/Kiritimati"]


def populate(schema: str, campaigns: int, *, brands: int = 5) -> list[int]:
    """`campaigns` campaigns over up to `brands` brands in varied zones, set-based. Every third
    is dayparted (a window that excludes AT), every other one has used up its daily budget on
    AT's local day in its brand's zone."""
    from campaigns import clock
    from campaigns.selectors import zone

    with schema_context(schema):
        brand_rows = Brand.objects.bulk_create(
            Brand(name=f"Brand {i}", timezone=ZONES[i % len(ZONES)])
            for i in range(min(brands, campaigns))
        )
        rows = Campaign.objects.bulk_create(
            Campaign(brand=brand_rows[i % len(brand_rows)], name=f"Campaign {i}",
                     daily_budget=Decimal("10.00"), dayparting=(i % 3 == 0))
            for i in range(campaigns)
        )
        ScheduleWindow.objects.bulk_create(
            ScheduleWindow(campaign=c, day_of_week=day, start_minute=0, end_minute=60)
            for c in rows if c.dayparting for day in range(7)
        )
        totals = []
        for i, c in enumerate(rows):
            if i % 2:
                continue
            tz = zone(brand_rows[i % len(brand_rows)].timezone)
            totals += [
                SpendTotal(campaign=c, period=Period.DAY, period_start=clock.local_day(AT, tz),
                           amount=Decimal("10")),
                SpendTotal(campaign=c, period=Period.MONTH,
                           period_start=clock.local_month(AT, tz), amount=Decimal("10")),
            ]
        SpendTotal.objects.bulk_create(totals)
        return [c.id for c in rows]


def expected(i: int) -> tuple[str, list[str]]:
    """The stored state of `populate`'s campaign number i after a pass at AT."""
    reasons = (["campaign_daily_budget"] if i % 2 == 0 else []) + (
        ["dayparting"] if i % 3 == 0 else [])
    return ("paused" if reasons else "active", reasons)


def paused_by_a_pass(campaigns: int) -> int:
    """How many of `populate`'s campaigns a first pass at AT changes (all start active)."""
    return sum(1 for i in range(campaigns) if expected(i)[0] == "paused")


def statuses(schema: str) -> dict[int, tuple[str, list[str]]]:
    with schema_context(schema):
        return {c.id: (c.status, c.pause_reasons) for c in Campaign.objects.all()}


def history_count(schema: str) -> int:
    with schema_context(schema):
        return StatusChange.objects.count()


# --- A bounded number of queries -------------------------------------------------------------

# Ten statements: SET search_path (the switch to the agency), SET LOCAL lock_timeout, the
# Fourteen statements: SET search_path (the switch to the agency), SET LOCAL lock_timeout, the
# advisory lock (in a savepoint of its own: 3), the version of the agency's pass marker, the
# brands' row locks, the snapshot of their campaigns (caps, windows, day and month totals in one),
# one statement that writes statuses, next changes and history, and, since some status changed,
# the events' ordering lock and the one statement that records the events; then the marker's
# raise. Plus the savepoint pair of the pass's transaction, nested in the test's transaction (in
# production these are BEGIN/COMMIT, which Django does not count).
PASS_QUERIES = 14
# A full pass (not the minute's due passes) also deletes the events past their 30 days: two
# statements, in a transaction of their own (a savepoint pair here).
PURGE_QUERIES = 4


@pytest.mark.parametrize("campaigns", [1, 100])
def test_one_agencys_pass_runs_the_same_number_of_queries_for_1_and_100_campaigns(
    api: Api, campaigns: int, django_assert_num_queries: Any
) -> None:
    schema = api.agency.schema_name
    ids = populate(schema, campaigns)
    with django_assert_num_queries(PASS_QUERIES + PURGE_QUERIES):
        run_for_schema(schema, AT)
    assert statuses(schema) == {cid: expected(i) for i, cid in enumerate(ids)}


def test_a_pass_decides_budgets_and_windows_in_each_brands_zone(api: Api) -> None:
    schema = api.agency.schema_name
    ids = populate(schema, 12)
    run_for_schema(schema, AT)
    assert statuses(schema) == {cid: expected(i) for i, cid in enumerate(ids)}


# --- Idempotent: twice, late -------------------------------------------------------------------

def test_a_pass_run_twice_or_late_leaves_the_same_statuses_and_no_duplicate_history(
    api: Api,
) -> None:
    schema = api.agency.schema_name
    populate(schema, 30)
    first = run_for_schema(schema, AT)
    after_first, changes = statuses(schema), history_count(schema)
    assert changes == len(first.transitions) > 0

    assert run_for_schema(schema, AT).transitions == []
    late = run_for_schema(schema, AT + timedelta(seconds=50))  # same local minute and day
    assert late.transitions == []
    assert statuses(schema) == after_first
    assert history_count(schema) == changes


def test_a_late_pass_after_midnight_resumes_once(api: Api) -> None:
    """The pass meant for Kathmandu's midnight runs 40 s late, then again: one resume each."""
    schema = api.agency.schema_name
    with schema_context(schema):
        brand = Brand.objects.create(name="K", timezone="Asia/Kathmandu")
        campaign = Campaign.objects.create(brand=brand, name="c", daily_budget=Decimal("5"))
        SpendTotal.objects.create(campaign=campaign, period=Period.DAY,
                                  period_start=date(2026, 3, 10), amount=Decimal("5"))
    run_for_schema(schema, datetime(2026, 3, 10, 18, 14, tzinfo=UTC))  # 23:59 local
    assert statuses(schema)[campaign.id] == ("paused", ["campaign_daily_budget"])
    midnight = datetime(2026, 3, 10, 18, 15, tzinfo=UTC)  # 00:00 on the 11th in +05:45
    run_for_schema(schema, midnight + timedelta(seconds=40))
    run_for_schema(schema, midnight + timedelta(seconds=41))
    assert statuses(schema)[campaign.id] == ("active", [])
    with schema_context(schema):
        assert list(StatusChange.objects.order_by("id").values_list("to_status", "cause")) == [
            ("paused", "job"), ("active", "job")]


# --- Never interleaved -----------------------------------------------------------------------

def other_connection() -> psycopg.Connection[Any]:
    """A second session on the test database, outside Django (and its test transaction)."""
    params = django_connection.get_connection_params()
    keep = {"dbname", "user", "password", "host", "port"}
    return psycopg.connect(**{k: v for k, v in params.items() if k in keep and v},
                           autocommit=True)


def hold_pass_lock(session: psycopg.Connection[Any], schema: str) -> None:
    """What a running pass of this agency holds (the same key `jobs._lock_pass` takes)."""
    session.execute("SELECT pg_advisory_lock(hashtext(%s))", [f"jobs:{schema}"])


def test_a_second_pass_skips_while_another_holds_the_agencys_lock(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    schema = api.agency.schema_name
    populate(schema, 4)
    monkeypatch.setattr(jobs, "LOCK_TIMEOUT", "300ms")
    with other_connection() as session:
        hold_pass_lock(session, schema)
        started = time.monotonic()
        result = run_for_schema(schema, AT)
        waited = time.monotonic() - started
    assert result.skipped and result.transitions == []
    assert 0.25 < waited < 5
    assert history_count(schema) == 0  # nothing written while the other pass held it
    assert f"pass for {schema} skipped" in caplog.text
    # Once the lock is free the next pass does the work.
    assert len(run_for_schema(schema, AT).transitions) == paused_by_a_pass(4)


def test_a_second_pass_waits_for_the_first_to_end(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    schema = api.agency.schema_name
    populate(schema, 4)
    monkeypatch.setattr(jobs, "LOCK_TIMEOUT", "10s")
    with other_connection() as session:
        hold_pass_lock(session, schema)
        release = threading.Timer(
            0.5, lambda: session.execute("SELECT pg_advisory_unlock_all()"))
        release.start()
        started = time.monotonic()
        result = run_for_schema(schema, AT)
        waited = time.monotonic() - started
        release.join()
    assert not result.skipped and len(result.transitions) == paused_by_a_pass(4)
    assert waited >= 0.45


def test_passes_of_different_agencies_do_not_wait_for_each_other(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    other, _ = make_tenant("other-agency")
    monkeypatch.setattr(jobs, "LOCK_TIMEOUT", "300ms")
    with other_connection() as session:
        hold_pass_lock(session, other.schema_name)
        assert not run_for_schema(api.agency.schema_name, AT).skipped


# --- Every agency; a failing one stops nobody ------------------------------------------------

def test_a_failing_agency_is_logged_by_slug_and_does_not_stop_the_others(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    broken, _ = make_tenant("broken-agency")
    healthy, _ = make_tenant("healthy-agency")
    for agency in (api.agency, broken, healthy):
        populate(agency.schema_name, 3)
    with connection.cursor() as cursor:  # the schema is there, but not as the pass needs it
        cursor.execute(
            f'ALTER TABLE "{broken.schema_name}".campaigns_brand RENAME COLUMN timezone TO tz')

    with caplog.at_level(logging.ERROR, logger="campaigns.tenant_passes"):
        results = run_all_tenants(AT)

    assert {r.schema for r in results} == {api.agency.schema_name, healthy.schema_name}
    assert all(len(r.transitions) == paused_by_a_pass(3) for r in results)
    failures = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(failures) == 1
    assert "broken-agency" in failures[0].getMessage() and failures[0].exc_info


def test_a_schema_missing_a_table_of_the_pass_is_not_ready(api: Api) -> None:
    half_made, _ = make_tenant("half-made")
    with connection.cursor() as cursor:  # as while `migrate` is still building it
        cursor.execute(f'DROP TABLE "{half_made.schema_name}".campaigns_statuschange')
    assert [slug for slug, _ in ready_agencies()] == [api.agency.slug]


def test_agencies_without_a_ready_schema_are_not_passed(api: Api) -> None:
    unborn = Agency(schema_name="unborn", slug="unborn", name="Unborn")
    unborn.auto_create_schema = False  # as while its signup transaction is still cloning
    unborn.save()
    slugs = [slug for slug, _ in ready_agencies()]
    assert api.agency.slug in slugs
    assert "unborn" not in slugs
    assert not [r for r in run_all_tenants(AT) if r.schema == "unborn"]


def test_run_jobs_says_when_an_agencys_pass_was_skipped(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from io import StringIO

    from django.core.management import call_command

    monkeypatch.setattr(jobs, "LOCK_TIMEOUT", "100ms")
    out, err = StringIO(), StringIO()
    with other_connection() as session:
        hold_pass_lock(session, api.agency.schema_name)
        call_command("run_jobs", now=AT.isoformat(), tenant=api.agency.slug, stdout=out,
                     stderr=err)
    assert f"{api.agency.slug}: skipped" in err.getvalue()

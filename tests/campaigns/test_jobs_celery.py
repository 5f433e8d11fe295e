"""The Celery wiring of the pass, in-process: the beat entry `migrate` stores, the dispatcher's
fan-out (one message per ready agency, each carrying its schema), and the worker-side switch to
that schema. tests/campaigns/test_celery_e2e.py runs the same with a real worker and beat."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from celery import Celery
from django.conf import settings
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from django_tenants.utils import schema_context
from tenant_schemas_celery import task as tenant_task

from campaigns import due, signals, tasks
from campaigns.jobs import PassResult
from campaigns.models import Brand, Campaign, StatusChange
from saas.celery import app
from saas.db import connection
from tenants.models import Agency
from tests.conftest import Api, make_tenant

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Messages the app publishes, captured below tenant-schemas-celery's `send_task` (which
    adds the schema header) instead of reaching the broker."""
    sent: list[dict[str, Any]] = []

    def record(self: Celery, name: str, args: Any = None, kwargs: Any = None,
               **options: Any) -> None:
        sent.append({"name": name, **options})

    monkeypatch.setattr(Celery, "send_task", record)
    return sent


@pytest.fixture(autouse=True)
def _fresh_tenant_cache() -> Any:
    """The worker caches Agency rows by schema; tests roll their agencies back."""
    tenant_task._shared_storage.clear()
    yield
    tenant_task._shared_storage.clear()


def test_migrate_stores_one_dispatcher_every_minute_in_the_public_schema() -> None:
    hourly = PeriodicTask.objects.get(name=signals.FULL_DISPATCHER_NAME)
    assert hourly.task == "campaigns.dispatch_full_passes" and hourly.enabled
    assert hourly.crontab is not None
    assert (hourly.crontab.minute, hourly.crontab.hour) == (signals.FULL_PASS_MINUTE, "*")
    entry = PeriodicTask.objects.get(name=signals.DISPATCHER_NAME)
    assert entry.task == "campaigns.dispatch_passes" and entry.enabled
    assert entry.expire_seconds == tasks.PASS_EXPIRES_SECONDS
    crontab = entry.crontab
    assert crontab is not None
    assert (crontab.minute, crontab.hour, crontab.day_of_week, crontab.day_of_month,
            crontab.month_of_year) == ("*", "*", "*", "*", "*")
    assert PeriodicTask.objects.filter(task="campaigns.dispatch_passes").count() == 1
    signals.ensure_beat_schedule()  # what a second `migrate` does: nothing
    assert PeriodicTask.objects.get(name=signals.DISPATCHER_NAME).pk == entry.pk


def test_the_app_is_tenant_aware_and_configured_for_idempotent_passes() -> None:
    assert isinstance(tasks.run_tenant_pass, tenant_task.TenantTask)
    conf = app.conf
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.task_ignore_result and not conf.result_backend
    assert conf.task_serializer == "json" and conf.accept_content == ["json"]
    assert conf.task_soft_time_limit < conf.task_time_limit < 60
    assert conf.beat_scheduler == "django_celery_beat.schedulers:DatabaseScheduler"
    assert int(conf.task_tenant_cache_seconds) > 0  # read by TenantTask.get_tenant_for_schema


def test_the_worker_looks_each_agency_up_once_per_cache_period(
    api: Api, django_assert_num_queries: Any
) -> None:
    schema = api.agency.schema_name
    with django_assert_num_queries(1):
        assert tasks.run_tenant_pass.get_tenant_for_schema(schema).pk == api.agency.pk
    with django_assert_num_queries(0):
        assert tasks.run_tenant_pass.get_tenant_for_schema(schema).pk == api.agency.pk


def test_the_hourly_dispatcher_sends_one_pass_per_ready_agency_with_its_schema_in_the_header(
    api: Api, published: list[dict[str, Any]]
) -> None:
    second, _ = make_tenant("second-agency")
    unborn = Agency(schema_name="unborn", slug="unborn", name="Unborn")
    unborn.auto_create_schema = False  # its schema does not exist (yet)
    unborn.save()

    assert tasks.dispatch_full_passes() == 2

    assert [m["name"] for m in published] == ["campaigns.run_tenant_pass"] * 2
    assert [m["headers"]["_schema_name"] for m in published] == [
        api.agency.schema_name, second.schema_name]
    assert all(m["expires"] == tasks.PASS_EXPIRES_SECONDS for m in published)
    assert all(m["queue"] == "celery" for m in published)
    assert connection.schema_name == settings.PUBLIC_SCHEMA_NAME  # the dispatcher's own


def test_the_hourly_passes_can_have_a_queue_of_their_own(
    api: Api, published: list[dict[str, Any]], settings: Any
) -> None:
    """FULL_PASS_QUEUE: the hourly passes go there; a minute's due passes stay on theirs."""
    settings.FULL_PASS_QUEUE = "passes-hourly"
    assert tasks.dispatch_full_passes() == 1
    due.mark_due(api.agency.pk, timezone.now() - timedelta(minutes=1))
    assert tasks.dispatch_passes() == 1
    assert [m.get("queue") for m in published] == ["passes-hourly", None]


def test_a_pass_task_runs_in_the_schema_its_header_names(api: Api) -> None:
    with schema_context(api.agency.schema_name):
        brand = Brand.objects.create(name="B", timezone="Asia/Kathmandu")
        campaign = Campaign.objects.create(brand=brand, name="c", daily_budget=Decimal("0"))
    # What the worker does with a message: the prerun signal switches to the header's schema.
    outcome = tasks.run_tenant_pass.apply(headers={"_schema_name": api.agency.schema_name})
    assert outcome.successful() and outcome.result == 1
    assert connection.schema_name == settings.PUBLIC_SCHEMA_NAME  # restored after the task
    with schema_context(api.agency.schema_name):
        campaign.refresh_from_db()
        assert campaign.pause_reasons == ["campaign_daily_budget"]
        assert StatusChange.objects.get().cause == "job"


def test_a_pass_task_without_an_agency_schema_does_nothing(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    outcome = tasks.run_tenant_pass.apply(headers={"_schema_name": "public"})
    assert outcome.successful() and outcome.result == 0
    assert "carried no agency schema" in caplog.text


def test_a_failing_pass_task_is_logged_with_the_agencys_slug(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    broken, _ = make_tenant("broken-agency")
    with schema_context(broken.schema_name):
        Brand.objects.create(name="B", timezone="UTC")
    with connection.cursor() as cursor:
        cursor.execute(
            f'ALTER TABLE "{broken.schema_name}".campaigns_brand RENAME COLUMN timezone TO tz')
    with caplog.at_level(logging.ERROR, logger="campaigns.tasks"):
        outcome = tasks.run_tenant_pass.apply(headers={"_schema_name": broken.schema_name})
    assert outcome.failed()
    assert any("broken-agency" in r.getMessage() for r in caplog.records
               if r.name == "campaigns.tasks")


def test_run_jobs_and_the_task_share_one_pass(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """`run_jobs` and the Celery task both call campaigns.jobs.run_pass."""
    seen: list[tuple[str, datetime]] = []

    def spy(at: datetime, **options: Any) -> Any:
        seen.append((connection.schema_name, at))
        from campaigns.jobs import PassResult
        return PassResult(schema=connection.schema_name, at=at)

    monkeypatch.setattr("campaigns.tasks.run_pass", spy)
    monkeypatch.setattr("campaigns.tenant_passes.run_pass", spy)
    api.run_jobs("2026-03-10T12:00:00Z")
    tasks.run_tenant_pass.apply(headers={"_schema_name": api.agency.schema_name})
    assert [schema for schema, _ in seen] == [api.agency.schema_name] * 2
    assert seen[0][1] == datetime(2026, 3, 10, 12, tzinfo=UTC)



def test_a_dispatch_given_an_instant_hands_it_to_every_pass(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The optional `at` (bench/scale.py plays a zone's midnight with it); beat sends none."""
    sent: list[Any] = []

    def record(self: Celery, name: str, args: Any = None, kwargs: Any = None,
               **options: Any) -> None:
        sent.append(kwargs)

    monkeypatch.setattr(Celery, "send_task", record)
    due.mark_due(api.agency.pk, datetime(2026, 6, 9, 22, tzinfo=UTC))
    assert tasks.dispatch_passes("2026-06-09T21:59:59+00:00") == 0  # not due yet then
    assert tasks.dispatch_passes("2026-06-09T22:00:01+00:00") == 1
    tasks.dispatch_passes()
    tasks.dispatch_full_passes("2026-06-09T22:00:01+00:00")
    assert sent == [{"only_due": True, "at": "2026-06-09T22:00:01+00:00"}, {"only_due": True},
                    {"at": "2026-06-09T22:00:01+00:00"}]

    seen: list[datetime] = []

    def spy(at: datetime, **options: Any) -> PassResult:
        seen.append(at)
        return PassResult(schema=connection.schema_name, at=at)

    monkeypatch.setattr("campaigns.tasks.run_pass", spy)
    tasks.run_tenant_pass.apply(kwargs=sent[0], headers={"_schema_name": api.agency.schema_name})
    tasks.run_tenant_pass.apply(headers={"_schema_name": api.agency.schema_name})
    assert seen[0] == datetime(2026, 6, 9, 22, 0, 1, tzinfo=UTC)
    assert seen[1] > seen[0]  # now

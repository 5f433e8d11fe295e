"""Passes whose cost follows the changes: each campaign's `next_change_at`, the agency's marker
(`campaigns.due`), the minute's dispatcher that sends passes only where something is due, and
the due pass that decides only the brands with a campaign due.

The dispatcher's messages are counted on the real broker (the suite's Redis): nothing is mocked.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import redis
from django.conf import settings
from django.db import transaction
from django_tenants.utils import schema_context
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from campaigns import clock, due, jobs, pacing, selectors, services, tasks
from campaigns.ledger import SpendEvent, record_spend
from campaigns.models import Brand, Campaign, StatusChange
from campaigns.shared.models import PassDue
from saas.celery import app
from saas.db import connection
from tests.conftest import Api, SignedUpAgency, actor_for_tests, make_tenant
from tests.plans import generic_plan, whole_reads

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")
# A Tuesday, 12:00 in Berlin; its next local midnight is 2026-03-10 23:00 UTC.
AT = datetime(2026, 3, 10, 11, 0, tzinfo=UTC)
BERLIN_MIDNIGHT = datetime(2026, 3, 10, 23, 0, tzinfo=UTC)
DISPATCHER_QUERIES = 1


# --- The real broker ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    task: str
    schema: str
    kwargs: dict[str, Any]


class Broker:
    """The messages published to the suite's Redis since the fixture began; removed after."""

    def __init__(self) -> None:
        self.client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
        queue = app.conf.task_default_queue
        self.keys = [queue, *(f"{queue}\x06\x16{p}" for p in (3, 6, 9))]  # kombu's priorities
        self.before = {key: int(self.client.llen(key)) for key in self.keys}

    def new(self) -> list[Message]:
        """Published since the start, oldest first (kombu pushes on the left)."""
        found = []
        for key in self.keys:
            added = int(self.client.llen(key)) - self.before[key]
            for raw in reversed(self.client.lrange(key, 0, added - 1) if added > 0 else []):
                message = json.loads(raw)
                headers = message["headers"]
                body = json.loads(_decoded(message))
                found.append(Message(headers["task"], headers["_schema_name"], body[1]))
        return found

    def clean(self) -> None:
        for key in self.keys:
            added = int(self.client.llen(key)) - self.before[key]
            if added > 0:
                self.client.lpop(key, added)


def _decoded(message: dict[str, Any]) -> str:
    import base64

    body = message["body"]
    if message["properties"].get("body_encoding") == "base64":
        return base64.b64decode(body).decode()
    return str(body)


@pytest.fixture
def broker() -> Iterator[Broker]:
    watched = Broker()
    yield watched
    watched.clean()


# --- Helpers -------------------------------------------------------------------------------------


def marker(agency_id: int) -> datetime | None:
    row = PassDue.objects.filter(agency_id=agency_id).first()
    return None if row is None else row.due_at


def stored(schema: str) -> dict[int, tuple[str, list[str]]]:
    with schema_context(schema):
        return {c.id: (c.status, c.pause_reasons) for c in Campaign.objects.order_by("id")}


def berlin_campaigns(schema: str, count: int, *, now: datetime = AT) -> list[Campaign]:
    """A Berlin brand (its daily budget used up today) and `count` campaigns, made through the
    services at `now`: each edit decides its brand, so each campaign has its next change."""
    actor = actor_for_tests()
    with schema_context(schema):
        brand = services.create_brand({"name": "B", "timezone": "Europe/Berlin",
                                       "daily_budget": Decimal("5")}, actor=actor, now=now)
        made = [services.create_campaign({"brand": brand, "name": f"c{i}"}, actor=actor, now=now)
                for i in range(count)]
        record_spend(SpendEvent(made[0].pk, Decimal("5"), None, None), now=now)
        return made


def minute(schema: str, at: datetime) -> jobs.PassResult | None:
    """What the minute's dispatcher and the pass it sends do for one agency at `at`."""
    if schema not in due.due_agencies(at):
        return None
    with schema_context(schema):
        return jobs.run_pass(at, only_due=True)


# --- next_change_at, and the marker ---------------------------------------------------------------


def test_every_decision_stores_the_next_change_and_lowers_the_marker(api: Api) -> None:
    schema = api.agency.schema_name
    assert marker(api.agency.pk) is None  # made without signup: nothing due
    (campaign,) = berlin_campaigns(schema, 1)
    with schema_context(schema):
        campaign.refresh_from_db()
    assert campaign.next_change_at == BERLIN_MIDNIGHT
    assert marker(api.agency.pk) == BERLIN_MIDNIGHT

    # A window that opens at 13:00 Berlin today moves its campaign's next change earlier.
    with schema_context(schema):
        services.update_campaign(campaign, {"dayparting": True}, actor=actor_for_tests(), now=AT)
        services.set_schedule(campaign, [clock.Window(1, 13 * 60, 14 * 60)],
                              actor=actor_for_tests(), now=AT)
        campaign.refresh_from_db()
    assert campaign.next_change_at == datetime(2026, 3, 10, 12, tzinfo=UTC)
    assert marker(api.agency.pk) == datetime(2026, 3, 10, 12, tzinfo=UTC)
    # Only the reasons' changes are history: the instant alone moving is none.
    with schema_context(schema):
        assert StatusChange.objects.filter(campaign=campaign).count() == 2  # spend, dayparting


def test_a_new_agency_is_due_on_the_next_minute_and_then_quiet(
    make_agency: Callable[..., SignedUpAgency],
) -> None:
    signed_up = make_agency("fresh")
    agency = signed_up.agency
    assert marker(agency.pk) == agency.created_at
    later = agency.created_at + timedelta(seconds=30)
    assert agency.schema_name in due.due_agencies(later)
    result = minute(agency.schema_name, later)
    assert result is not None and result.brands == 0
    assert marker(agency.pk) is None  # no campaigns: nothing can change by time alone
    assert agency.schema_name not in due.due_agencies(later + timedelta(days=400))


def test_a_pass_does_not_raise_a_marker_lowered_while_it_looked(api: Api) -> None:
    schema = api.agency.schema_name
    berlin_campaigns(schema, 2)
    with schema_context(schema):
        version = due.marker_version()
        due.lower(AT + timedelta(minutes=5))  # a decision meanwhile, e.g. an edited schedule
        assert not due.raise_marker(AT, version)
        assert marker(api.agency.pk) == AT + timedelta(minutes=5)
        assert due.raise_marker(AT, due.marker_version())
    assert marker(api.agency.pk) == BERLIN_MIDNIGHT


def test_a_campaign_never_decided_is_due(api: Api) -> None:
    """One made behind the services' back (SQL, an import) is evaluated by the next pass."""
    schema = api.agency.schema_name
    berlin_campaigns(schema, 1)
    with schema_context(schema):
        brand = Brand.objects.get()
        stray = Campaign.objects.create(brand=brand, name="stray", daily_budget=Decimal("0"))
        result = jobs.run_pass(AT + timedelta(seconds=5), only_due=True)
        assert result.brands == 1
        stray.refresh_from_db()
    assert stray.pause_reasons == ["campaign_daily_budget", "brand_daily_budget"]
    assert stray.next_change_at == BERLIN_MIDNIGHT
    assert marker(api.agency.pk) == BERLIN_MIDNIGHT


def test_raising_the_marker_reads_the_next_change_index_not_every_campaign(api: Api) -> None:
    """min(coalesce(next_change_at, at)) read every campaign of the agency at each pass."""
    schema = api.agency.schema_name
    with schema_context(schema):
        brands = Brand.objects.bulk_create(Brand(name=f"b{n}", timezone="UTC") for n in range(50))
        Campaign.objects.bulk_create(
            Campaign(brand=brand, name=f"c{n}", next_change_at=AT + timedelta(minutes=n))
            for brand in brands for n in range(40))
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE campaigns_campaign")
        plan = generic_plan(due.RAISE_SQL, ["%(at)s", "%(schema)s", "%(version)s"],
                            [AT, schema, 0])
        assert whole_reads(plan) == []
        # Never decided counts as due at the pass's instant; else the earliest instant wins.
        assert due.raise_marker(AT + timedelta(hours=1), due.marker_version())
        assert marker(api.agency.pk) == AT
        Campaign.objects.filter(brand=brands[0]).update(next_change_at=None)
        assert due.raise_marker(AT - timedelta(hours=1), due.marker_version())
        assert marker(api.agency.pk) == AT - timedelta(hours=1)
        assert due.raise_marker(AT + timedelta(hours=1), due.marker_version())
        assert marker(api.agency.pk) == AT  # a never-decided one, but an earlier instant
        Campaign.objects.update(next_change_at=None)
        assert due.raise_marker(AT + timedelta(hours=1), due.marker_version())
        assert marker(api.agency.pk) == AT + timedelta(hours=1)


# --- The dispatcher: one query, passes only where due -------------------------------------------


def test_a_quiet_minute_enqueues_no_pass(
    api: Api, broker: Broker, django_assert_num_queries: Any
) -> None:
    schema = api.agency.schema_name
    berlin_campaigns(schema, 3)
    idle, _ = make_tenant("idle-agency")  # no campaigns, no marker
    with schema_context(schema):
        jobs.run_pass(AT)  # the state of the minute before
    assert PassDue.objects.count() == 1  # (the connection is back in public: SET search_path)

    for quiet in (AT + timedelta(minutes=1), BERLIN_MIDNIGHT - timedelta(seconds=1)):
        with django_assert_num_queries(DISPATCHER_QUERIES):
            assert tasks.dispatch_passes(quiet.isoformat()) == 0
    assert broker.new() == []

    with django_assert_num_queries(DISPATCHER_QUERIES):
        assert tasks.dispatch_passes(BERLIN_MIDNIGHT.isoformat()) == 1
    assert broker.new() == [Message("campaigns.run_tenant_pass", schema,
                                    {"only_due": True, "at": BERLIN_MIDNIGHT.isoformat()})]
    assert idle.schema_name not in {m.schema for m in broker.new()}


def test_the_dispatcher_reads_every_agencys_marker_in_one_query(
    api: Api, broker: Broker, django_assert_num_queries: Any
) -> None:
    schema = api.agency.schema_name
    berlin_campaigns(schema, 1)
    others = [make_tenant(f"other-{n}")[0] for n in range(5)]
    for n, agency in enumerate(others):
        due.mark_due(agency.pk, AT + timedelta(minutes=n))
    with django_assert_num_queries(DISPATCHER_QUERIES):
        assert tasks.dispatch_passes((AT + timedelta(minutes=2)).isoformat()) == 3
    assert [m.schema for m in broker.new()] == [a.schema_name for a in others[:3]]


# --- The due pass ---------------------------------------------------------------------------------

# As a full pass (tests/campaigns/test_jobs.py's PASS_QUERIES): the due brands' locks take the
# place of all brands' locks.
DUE_PASS_QUERIES = 14
# Nothing due: no snapshot and no write (and no SET search_path: still in the agency's schema).
QUIET_PASS_QUERIES = 9


@pytest.mark.parametrize("campaigns", [1, 60])
def test_a_due_pass_runs_the_same_number_of_queries_for_1_and_60_campaigns(
    api: Api, campaigns: int, django_assert_num_queries: Any
) -> None:
    schema = api.agency.schema_name
    berlin_campaigns(schema, campaigns)
    with schema_context(schema):
        with django_assert_num_queries(DUE_PASS_QUERIES):
            result = jobs.run_pass(BERLIN_MIDNIGHT, only_due=True)
        assert result.brands == 1 and len(result.transitions) == campaigns
        with django_assert_num_queries(QUIET_PASS_QUERIES):
            again = jobs.run_pass(BERLIN_MIDNIGHT + timedelta(seconds=30), only_due=True)
        assert again.brands == 0 and again.transitions == []


def test_a_due_pass_decides_only_the_brands_with_something_due(api: Api) -> None:
    schema = api.agency.schema_name
    berlin_campaigns(schema, 2)
    with schema_context(schema):
        tokyo = services.create_brand({"name": "T", "timezone": "Asia/Tokyo"},
                                      actor=actor_for_tests(), now=AT)
        services.create_campaign({"brand": tokyo, "name": "t"}, actor=actor_for_tests(), now=AT)
    # Tokyo's midnight (15:00 UTC) comes first: only its brand is looked at.
    result = minute(schema, datetime(2026, 3, 10, 15, 0, 30, tzinfo=UTC))
    assert result is not None and result.brands == 1 and result.transitions == []
    assert marker(api.agency.pk) == BERLIN_MIDNIGHT
    assert minute(schema, BERLIN_MIDNIGHT - timedelta(seconds=1)) is None


def test_a_late_due_pass_decides_as_a_timely_one_and_twice_is_once(api: Api) -> None:
    schema = api.agency.schema_name
    made = berlin_campaigns(schema, 2)
    assert stored(schema) == {c.pk: ("paused", ["brand_daily_budget"]) for c in made}
    late = BERLIN_MIDNIGHT + timedelta(days=3, hours=5)  # the worker was down for days
    first = minute(schema, late)
    assert first is not None and len(first.transitions) == 2
    assert stored(schema) == {c.pk: ("active", []) for c in made}
    assert minute(schema, late) is None  # not due again
    with schema_context(schema):
        assert jobs.run_pass(late, only_due=False).transitions == []
        assert Campaign.objects.get(pk=made[0].pk).next_change_at == clock.day_start(
            clock.local_day(late, BERLIN) + timedelta(days=1), BERLIN)


# --- A due campaign is never missed: due passes against full passes -------------------------------

ZONES = ["Europe/Berlin", "America/Sao_Paulo", "Australia/Lord_Howe", "Pacific/Chatham",
         "America/Havana", "America/Santiago", "Asia/Beirut", "Asia/Kathmandu", "UTC"]
YEARS = (2018, 2026)  # Sao Paulo still changed its clocks at midnight in 2018


@cache
def transitions(zone_name: str) -> tuple[datetime, ...]:
    """Every instant of YEARS where the zone's offset changes, found hour by hour."""
    tz = ZoneInfo(zone_name)
    found = []
    for year in YEARS:
        at = datetime(year, 1, 1, tzinfo=UTC)
        offset = at.astimezone(tz).utcoffset()
        while at.year == year:
            at += timedelta(hours=1)
            if at.astimezone(tz).utcoffset() != offset:
                offset = at.astimezone(tz).utcoffset()
                found.append(at)
    return tuple(found)


windows = st.tuples(st.integers(0, 6), st.integers(0, 1439), st.integers(1, 1440)).filter(
    lambda w: w[1] != w[2]).map(lambda w: clock.Window(*w))
campaign_plans = st.fixed_dictionaries({
    "daily": st.sampled_from([None, "0", "10"]),
    "spent": st.sampled_from(["0", "4", "10"]),
    "dayparting": st.booleans(),
    "windows": st.lists(windows, max_size=3),
})
brand_plans = st.fixed_dictionaries({
    "zone": st.sampled_from(ZONES),
    "daily": st.sampled_from([None, "12"]),
    "campaigns": st.lists(campaign_plans, min_size=1, max_size=3),
})
STEPS = ("at the marker", "just before the marker", "within hours", "days later")


def _start(data: st.DataObject, zone_name: str) -> datetime:
    """Some instant, or one up to two days before one of the zone's clock changes."""
    near = transitions(zone_name)
    if near and data.draw(st.booleans(), label="near a clock change"):
        change = data.draw(st.sampled_from(near), label="change")
        return change - timedelta(seconds=data.draw(st.integers(0, 2 * 86400), label="before"))
    moment = data.draw(st.datetimes(min_value=datetime(2017, 1, 1),
                                    max_value=datetime(2027, 12, 1)), label="start")
    return moment.replace(tzinfo=UTC)


def _build(schema: str, plans: list[dict[str, Any]], t0: datetime) -> list[int]:
    actor = actor_for_tests()
    ids = []
    with schema_context(schema):
        for n, plan in enumerate(plans):
            brand = services.create_brand(
                {"name": f"b{n}", "timezone": plan["zone"],
                 "daily_budget": plan["daily"] and Decimal(plan["daily"])}, actor=actor, now=t0)
            for k, c in enumerate(plan["campaigns"]):
                campaign = services.create_campaign(
                    {"brand": brand, "name": f"c{k}", "dayparting": c["dayparting"],
                     "daily_budget": c["daily"] and Decimal(c["daily"])}, actor=actor, now=t0)
                if c["windows"]:
                    services.set_schedule(campaign, c["windows"], actor=actor, now=t0)
                if c["spent"] != "0":
                    record_spend(SpendEvent(campaign.pk, Decimal(c["spent"]), None, None),
                                 now=t0)
                ids.append(campaign.pk)
    return ids


def _full_pass_statuses(schema: str, at: datetime) -> dict[int, tuple[str, list[str]]]:
    """What a full pass at `at` would store, rolled back."""
    savepoint = transaction.savepoint()
    with schema_context(schema):
        jobs.run_pass(at)
    full = stored(schema)
    transaction.savepoint_rollback(savepoint)
    return full


# As tests/campaigns/test_clock.py: fresh draws locally, fixed ones in CI.
@hypothesis_settings(max_examples=40, deadline=None, database=None,
                     derandomize=bool(os.environ.get("CI")),
                     suppress_health_check=[HealthCheck.function_scoped_fixture,
                                            HealthCheck.too_slow])
@given(plans=st.lists(brand_plans, min_size=1, max_size=3), data=st.data())
def test_due_passes_store_what_full_passes_store_at_every_instant(
    api: Api, plans: list[dict[str, Any]], data: st.DataObject
) -> None:
    schema, agency_id = api.agency.schema_name, api.agency.pk
    with transaction.atomic():
        now = _start(data, plans[0]["zone"])
        ids = _build(schema, plans, now)
        for _ in range(data.draw(st.integers(1, 6), label="minutes")):
            step = data.draw(st.sampled_from(STEPS), label="step")
            due_at = marker(agency_id)
            if step == "at the marker" and due_at is not None:
                now = max(now, due_at + timedelta(seconds=data.draw(st.integers(0, 59))))
            elif step == "just before the marker" and due_at is not None:
                now = max(now, due_at - timedelta(seconds=1))
            elif step == "days later":
                now += timedelta(seconds=data.draw(st.integers(1, 3 * 86400)))
            else:
                now += timedelta(seconds=data.draw(st.integers(1, 6 * 3600)))
            if data.draw(st.booleans(), label="a spend first"):
                with schema_context(schema):
                    record_spend(SpendEvent(data.draw(st.sampled_from(ids)), Decimal("3"),
                                            None, None), now=now)
            minute(schema, now)

            assert stored(schema) == _full_pass_statuses(schema, now), now
            with schema_context(schema):
                upcoming = [c.next_change_at for c in Campaign.objects.all()]
                # Never too late: the marker is at or before every campaign's next change.
                assert all(n is not None for n in upcoming)
                assert marker(agency_id) is not None and marker(agency_id) <= min(upcoming)
                # Each campaign was decided at `now`, or earlier with no change due since:
                # either way its next change is the one after `now`.
                current = selectors.snapshot(now)
                for state in current.campaigns.values():
                    assert state.stored_next_change_at == pacing.next_change_at(
                        now, state.tz, state.windows, state.dayparting)
        transaction.set_rollback(True)

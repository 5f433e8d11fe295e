"""Spend under concurrency, through HTTP from threads with their own connections, on committed
data: idempotent retries, exact totals, one transition, brand caps that cannot be slipped."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from audit.log import Actor
from campaigns import ledger, services
from campaigns.models import Brand, Campaign, Spend, SpendTotal
from saas.db import connection
from tests.conftest import Api, thread_api

THREADS = 8


def run_threads(api: Api, work: Callable[[Api, int], list[Any]],
                count: int = THREADS) -> list[Any]:
    """Run `work(own_api, n)` in `count` threads started together; their results, in order."""
    barrier = threading.Barrier(count)
    results: list[list[Any]] = [[] for _ in range(count)]
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            own = thread_api(api)
            barrier.wait(timeout=30)
            results[n] = work(own, n)
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return [result for per_thread in results for result in per_thread]


def answers(responses: list[Any]) -> list[tuple[int, Any]]:
    return [(r.status_code, r.json()) for r in responses]


@pytest.mark.django_db
def test_this_module_runs_on_the_test_database() -> None:
    """Its django_db mark makes pytest-django create the test database even when only this
    module runs: the committed agencies below must never land in a real one."""
    assert connection.settings_dict["NAME"].startswith("test_")


def test_eight_concurrent_retries_of_one_event_give_one_201_and_seven_identical_200s(
    committed_api: Api,
) -> None:
    api = committed_api
    campaign = api.campaign(api.brand())
    event = {"campaign": campaign["id"], "amount": "3.25", "event_id": "retry-storm"}
    results = answers(run_threads(api, lambda own, n: [own.post("spend", event)]))
    assert sorted(code for code, _ in results) == [200] * 7 + [201]
    first = next(body for code, body in results if code == 201)
    assert all(body == first for _, body in results)
    with schema_context(api.agency.schema_name):
        assert Spend.objects.filter(event_id="retry-storm").count() == 1
    assert api.status(campaign)["evaluation"]["spend"]["campaign_today"] == "3.25"


def test_eight_writers_store_exactly_what_they_sent_and_pause_exactly_once(
    committed_api: Api,
) -> None:
    api = committed_api
    campaign = api.campaign(api.brand(), daily_budget="100.00")

    def write(own: Api, n: int) -> list[Any]:
        return [own.post("spend", {"campaign": campaign["id"], "amount": "1.00"})
                for _ in range(25)]

    responses = run_threads(api, write)
    assert [r.status_code for r in responses] == [201] * 200
    paused = [r.json() for r in responses
              if r.json()["campaign_status"]["status"] == "paused"]
    assert len(paused) == 101  # the 100th spend and every one after it
    status = api.status(campaign)
    assert status["evaluation"]["spend"]["campaign_today"] == "200.00"
    assert status["pause_reasons"] == ["campaign_daily_budget"]
    history = api.ok(api.get(f"campaigns/{campaign['id']}/history"))["results"]
    assert [(h["from"], h["to"], h["cause"]) for h in history] == [("active", "paused", "spend")]


def test_two_campaigns_of_one_brand_cannot_both_slip_past_its_cap(committed_api: Api) -> None:
    """Each spend alone stays under the brand's cap and together they reach it: whichever is
    decided second must see the first, so both end paused, in every round."""
    api = committed_api
    rounds = [api.brand(name=f"Brand {n}", daily_budget="10.00") for n in range(10)]
    pairs = [(api.campaign(brand, name="A"), api.campaign(brand, name="B")) for brand in rounds]
    together = threading.Barrier(2)

    def write(own: Api, n: int) -> list[Any]:
        responses = []
        for pair in pairs:
            together.wait(timeout=30)
            responses.append(own.post("spend", {"campaign": pair[n]["id"], "amount": "6.00"}))
        return responses

    assert [r.status_code for r in run_threads(api, write, count=2)] == [201] * 20
    for first, second in pairs:
        for campaign in (first, second):
            assert api.status(campaign)["pause_reasons"] == ["brand_daily_budget"], campaign


def test_concurrent_batches_over_shared_brands_are_exact_and_never_deadlock(
    committed_api: Api,
) -> None:
    api = committed_api
    brands = [api.brand(name=f"Brand {n}", daily_budget="100000") for n in range(4)]
    campaigns = [api.campaign(brand, name=f"C{n}") for brand in brands for n in range(2)]

    def write(own: Api, n: int) -> list[Any]:
        # Each thread walks the campaigns in its own order: locks are still taken by brand id.
        order = campaigns[n % len(campaigns):] + campaigns[:n % len(campaigns)]
        events = [{"campaign": c["id"], "amount": "0.25", "event_id": f"t{n}-b{b}-{i}"}
                  for b in range(5) for i, c in enumerate(order * 10)]
        return [own.post("spend/batch", {"events": events[b * 80:(b + 1) * 80]})
                for b in range(5)]

    responses = run_threads(api, write)
    assert [r.status_code for r in responses] == [200] * 40
    assert sum(r.json()["created"] for r in responses) == THREADS * 400
    for campaign in campaigns:
        spent = api.status(campaign)["evaluation"]["spend"]["campaign_today"]
        assert Decimal(spent) == Decimal("0.25") * THREADS * 50


def test_a_spend_that_waited_for_its_brand_keeps_for_retries_the_status_it_answered(
    committed_api: Api,
) -> None:
    """A single spend locks and writes in one statement, whose snapshot can predate the lock it
    waited for: the status it keeps for its event_id's retries must still be the one it
    answered, decided after the wait, not the one it read before it."""
    api = committed_api
    brand = api.brand(daily_budget="10.00")
    first, second = api.campaign(brand, name="First"), api.campaign(brand, name="Second")
    api.spend(second, "1.00")  # active; and the process has seen the brand's time zone
    late = {"campaign": second["id"], "amount": "1.00", "event_id": "waited"}
    answers: list[Any] = []

    def spend_late() -> None:
        try:
            answers.append(thread_api(api).post("spend", late))
        finally:
            connection.close()

    waiting = threading.Thread(target=spend_late)
    with schema_context(api.agency.schema_name), transaction.atomic():
        now = timezone.now()
        ledger.record_spend(ledger.SpendEvent(first["id"], Decimal("10.00"), now, None), now=now)
        waiting.start()  # both campaigns are paused, uncommitted, under the brand's lock
        wait_for_a_lock_waiter()
    waiting.join(timeout=30)
    answered = answers[0].json()
    assert answers[0].status_code == 201
    assert answered["campaign_status"] == {"status": "paused",
                                           "pause_reasons": ["brand_daily_budget"]}
    retry = api.post("spend", late)
    assert retry.status_code == 200 and retry.json() == answered


def wait_for_a_lock_waiter(count: int = 1) -> None:
    """Until `count` backends of the test database wait for a lock (the first waiter for a row
    waits for this connection, the others for the first)."""
    for _ in range(200):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")  # else read once a transaction
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                           "current_database() AND cardinality(pg_blocking_pids(pid)) > 0")
            if cursor.fetchone()[0] >= count:
                return
        time.sleep(0.05)
    raise AssertionError("nothing waited for the brand's lock")


def spend_in_thread(api: Api, body: dict[str, Any], answers: list[Any]) -> threading.Thread:
    def spend() -> None:
        try:
            answers.append(thread_api(api).post("spend", body))
        finally:
            connection.close()

    return threading.Thread(target=spend)


LATE = "2026-03-01T23:30:00Z"  # 1 March in UTC, 2 March in Tokyo


@pytest.mark.parametrize("guess", ["UTC", "Asia/Tokyo"])  # the zone before, the zone after
def test_a_spend_that_waited_while_its_brand_changed_zone_counts_to_the_new_zones_day(
    committed_api: Api, guess: str,
) -> None:
    api = committed_api
    brand = api.brand(timezone="UTC")
    campaign = api.campaign(brand)
    api.spend(campaign, "1.00", occurred_at=LATE)
    ledger._zones_seen[(api.agency.schema_name, campaign["id"])] = guess
    body = {"campaign": campaign["id"], "amount": "2.00", "occurred_at": LATE,
            "event_id": "waited"}
    answers: list[Any] = []
    waiting = spend_in_thread(api, body, answers)
    with schema_context(api.agency.schema_name), transaction.atomic():
        services.update_brand(Brand.objects.get(pk=brand["id"]), {"timezone": "Asia/Tokyo"},
                              actor=Actor.token(1, "test"), now=timezone.now())
        waiting.start()
        wait_for_a_lock_waiter()
    waiting.join(timeout=30)
    assert answers[0].status_code == 201, answers[0].content
    with schema_context(api.agency.schema_name):
        days = list(Spend.objects.filter(campaign_id=campaign["id"]).values_list(
            "local_day", flat=True))
        totals = set(SpendTotal.objects.filter(campaign_id=campaign["id"]).values_list(
            "period", "period_start", "amount"))
    assert [str(day) for day in days] == ["2026-03-02", "2026-03-02"]
    assert totals == {("d", date(2026, 3, 2), Decimal("3")), ("m", date(2026, 3, 1), Decimal("3"))}
    retry = api.post("spend", body)
    assert retry.status_code == 200 and retry.json() == answers[0].json()


def test_a_spend_on_a_campaign_deleted_while_it_waited_is_refused_and_not_stored(
    committed_api: Api,
) -> None:
    """The brand lock reads the campaign from a snapshot older than the lock it waited for; the
    decision, read after it, no longer finds the campaign: a 400, as for any unknown one."""
    api = committed_api
    brand = api.brand()
    kept = api.campaign(brand, name="Kept")
    api.spend(kept, "1.00")
    doomed = api.campaign(brand, name="Deleted")
    single: list[Any] = []
    batched: list[Any] = []
    waiting = [spend_in_thread(api, {"campaign": doomed["id"], "amount": "2.00"}, single),
               batch_in_thread(api, [{"campaign": kept["id"], "amount": "1.00"},
                                     {"campaign": doomed["id"], "amount": "2.00"}], batched)]
    with schema_context(api.agency.schema_name), transaction.atomic():
        services.delete_campaign(Campaign.objects.get(pk=doomed["id"]),
                                 actor=Actor.token(1, "test"), now=timezone.now())
        for thread in waiting:
            thread.start()
        wait_for_a_lock_waiter(count=2)
    for thread in waiting:
        thread.join(timeout=30)
    assert single[0].status_code == 400, single[0].content
    assert single[0].json()["fields"] == {"campaign": ["Unknown campaign."]}
    assert batched[0].status_code == 400, batched[0].content
    assert batched[0].json()["fields"] == {"events": {"1": {"campaign": ["Unknown campaign."]}}}
    with schema_context(api.agency.schema_name):
        assert Spend.objects.filter(campaign__brand_id=brand["id"]).count() == 1


def batch_in_thread(api: Api, events: list[dict[str, Any]],
                    answers: list[Any]) -> threading.Thread:
    def spend() -> None:
        try:
            answers.append(thread_api(api).post("spend/batch", {"events": events}))
        finally:
            connection.close()

    return threading.Thread(target=spend)

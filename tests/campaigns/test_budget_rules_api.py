"""The contract's budget rules, driven through HTTP and `run_jobs`."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api, actor_for_tests

pytestmark = pytest.mark.django_db


def reasons(api: Api, campaign: dict[str, Any]) -> list[str]:
    return api.ok(api.get(f"campaigns/{campaign['id']}"))["pause_reasons"]


def history(api: Api, campaign: dict[str, Any]) -> list[dict[str, Any]]:
    return api.ok(api.get(f"campaigns/{campaign['id']}/history"))["results"]


def test_spend_that_uses_up_the_budget_pauses_in_the_same_response(api: Api) -> None:
    brand = api.brand()
    campaign = api.campaign(brand, daily_budget="10.00")
    assert api.spend(campaign, "9.99")["campaign_status"] == {
        "status": "active", "pause_reasons": []}
    body = api.spend(campaign, "0.01")
    assert body["campaign_status"] == {
        "status": "paused", "pause_reasons": ["campaign_daily_budget"]}
    assert body["amount"] == "0.01"


def test_brand_cap_covers_the_sum_of_its_campaigns(api: Api) -> None:
    brand = api.brand(daily_budget="100.00")
    first, second = api.campaign(brand, name="A"), api.campaign(brand, name="B")
    api.spend(first, "60")
    body = api.spend(second, "40.00")
    assert body["campaign_status"]["pause_reasons"] == ["brand_daily_budget"]
    assert reasons(api, first) == ["brand_daily_budget"]
    brand_status = api.ok(api.get(f"brands/{brand['id']}/status"))
    assert brand_status["spend"] == {"today": "100.00", "month": "100.00"}
    assert brand_status["remaining"] == {"daily": "0.00", "monthly": None}
    assert brand_status["campaigns"] == {"active": 0, "paused": 2}


def test_campaign_caps_stand_apart_from_brand_caps(api: Api) -> None:
    brand = api.brand(daily_budget="1000.00")
    capped, free = api.campaign(brand, daily_budget="50.00"), api.campaign(brand)
    assert api.spend(capped, "50.00")["campaign_status"]["pause_reasons"] == [
        "campaign_daily_budget"]
    assert reasons(api, free) == []


def test_reasons_combine_and_only_resume_clears_manual(api: Api) -> None:
    brand = api.brand()
    campaign = api.campaign(brand, daily_budget="5.00", dayparting=True)
    assert reasons(api, campaign) == ["dayparting"]
    api.ok(api.post(f"campaigns/{campaign['id']}/pause"))
    api.spend(campaign, "5")
    assert reasons(api, campaign) == ["manual", "campaign_daily_budget", "dayparting"]
    api.ok(api.patch(f"campaigns/{campaign['id']}", {"daily_budget": None, "dayparting": False}))
    assert reasons(api, campaign) == ["manual"]
    resumed = api.ok(api.post(f"campaigns/{campaign['id']}/resume"))
    assert resumed["status"] == "active" and resumed["pause_reasons"] == []


def test_raising_a_budget_resumes_with_history_spend_then_edit(api: Api) -> None:
    brand = api.brand()
    campaign = api.campaign(brand, daily_budget="10.00")
    api.spend(campaign, "10.00")
    api.ok(api.patch(f"campaigns/{campaign['id']}", {"daily_budget": "20.00"}))
    changes = history(api, campaign)
    assert [(c["from"], c["to"], c["cause"]) for c in changes] == [
        ("paused", "active", "edit"), ("active", "paused", "spend")]
    assert changes[1]["reasons"] == ["campaign_daily_budget"]


def test_money_is_exact(api: Api) -> None:
    brand = api.brand()
    campaign = api.campaign(brand, daily_budget="0.30")
    for _ in range(3):
        last = api.spend(campaign, 0.1)  # a JSON number, read as its decimal text
    assert last["campaign_status"]["pause_reasons"] == ["campaign_daily_budget"]
    assert api.status(campaign)["evaluation"]["spend"]["campaign_today"] == "0.30"


def test_zero_budget_never_runs(api: Api) -> None:
    campaign = api.campaign(api.brand(), monthly_budget="0")
    assert reasons(api, campaign) == ["campaign_monthly_budget"]


def test_spend_for_a_past_day_counts_there_and_does_not_pause_today(api: Api) -> None:
    campaign = api.campaign(api.brand(), daily_budget="10.00")
    body = api.spend(campaign, "50", occurred_at="2026-01-10T12:00:00Z")
    assert body["campaign_status"]["status"] == "active"
    past = api.status(campaign, at="2026-01-10T18:00:00Z")["evaluation"]
    assert past["reasons"] == ["campaign_daily_budget"]
    assert past["spend"]["campaign_today"] == "50.00"


def test_a_spend_past_the_cap_is_still_recorded(api: Api) -> None:
    campaign = api.campaign(api.brand(), daily_budget="1.00")
    api.spend(campaign, "1.00")
    api.spend(campaign, "2.50")
    evaluation = api.status(campaign)["evaluation"]
    assert evaluation["spend"]["campaign_today"] == "3.50"
    assert evaluation["remaining"]["campaign_daily"] == "0.00"


def test_the_same_instant_is_on_different_local_days_in_utc_plus_14_and_minus_11(
    api: Api,
) -> None:
    east = api.campaign(api.brand(timezone="Pacific/Kiritimati", daily_budget="10"))
    west = api.campaign(api.brand(timezone="Pacific/Pago_Pago", daily_budget="10"))
    for campaign in (east, west):  # 2026-03-11 00:00 in Kiritimati, 03-09 23:00 in Pago Pago
        api.spend(campaign, "10", occurred_at="2026-03-10T10:00:00Z")
    assert api.status(east, at="2026-03-10T10:30:00Z")["evaluation"]["local_time"].startswith(
        "2026-03-11T00:30")
    assert api.status(west, at="2026-03-10T10:30:00Z")["evaluation"]["local_time"].startswith(
        "2026-03-09T23:30")
    # An hour later Pago Pago has a new day; Kiritimati is still on the same one.
    assert api.status(west, at="2026-03-10T11:30:00Z")["evaluation"]["reasons"] == []
    assert api.status(east, at="2026-03-10T11:30:00Z")["evaluation"]["reasons"] == [
        "brand_daily_budget"]
    # Kiritimati's 03-11 ends at 10:00Z on the 11th.
    assert api.status(east, at="2026-03-11T09:59:59Z")["evaluation"]["reasons"] != []
    assert api.status(east, at="2026-03-11T10:00:00Z")["evaluation"]["reasons"] == []


def test_a_new_day_does_not_clear_the_month_and_a_new_month_does(api: Api) -> None:
    campaign = api.campaign(api.brand(timezone="Europe/Paris"), monthly_budget="100",
                            daily_budget="100")
    api.spend(campaign, "100", occurred_at="2026-01-31T22:30:00Z")  # 23:30 in Paris, Jan 31
    api.run_jobs("2026-01-31T22:45:00Z")
    assert reasons(api, campaign) == ["campaign_daily_budget", "campaign_monthly_budget"]
    api.run_jobs("2026-01-31T22:59:59Z")
    assert reasons(api, campaign) == ["campaign_daily_budget", "campaign_monthly_budget"]
    api.run_jobs("2026-01-31T23:00:00Z")  # Feb 1, 00:00 in Paris
    assert reasons(api, campaign) == []


def test_a_new_day_keeps_the_month_cap(api: Api) -> None:
    campaign = api.campaign(api.brand(timezone="America/New_York"), monthly_budget="50",
                            daily_budget="30")
    api.spend(campaign, "30", occurred_at="2026-02-10T15:00:00Z")
    api.spend(campaign, "20", occurred_at="2026-02-10T16:00:00Z")
    api.run_jobs("2026-02-10T20:00:00Z")
    assert reasons(api, campaign) == ["campaign_daily_budget", "campaign_monthly_budget"]
    api.run_jobs("2026-02-11T05:00:00Z")  # Feb 11, 00:00 in New York
    assert reasons(api, campaign) == ["campaign_monthly_budget"]
    changes = history(api, campaign)
    assert changes[0]["cause"] == "job" and changes[0]["to"] == "paused"


def test_run_jobs_twice_or_late_gives_the_same_statuses_and_no_duplicate_history(
    api: Api,
) -> None:
    campaign = api.campaign(api.brand(), daily_budget="5")
    api.spend(campaign, "5", occurred_at="2026-02-10T12:00:00Z")
    api.run_jobs("2026-02-10T12:01:00Z")
    api.run_jobs("2026-02-10T12:01:00Z")
    api.run_jobs("2026-02-11T00:00:00Z")
    api.run_jobs("2026-02-11T03:00:00Z")
    changes = history(api, campaign)
    assert [(c["to"], c["cause"]) for c in changes] == [("active", "job"), ("paused", "job")]


def test_havanas_repeated_midnight_belongs_to_one_day(api: Api) -> None:
    campaign = api.campaign(api.brand(timezone="America/Havana"), daily_budget="10")
    api.spend(campaign, "10", occurred_at="2026-11-01T03:30:00Z")  # Oct 31, 23:30 CDT
    api.run_jobs("2026-11-01T03:59:00Z")
    assert reasons(api, campaign) == ["campaign_daily_budget"]
    api.run_jobs("2026-11-01T04:00:00Z")  # the first 00:00 of Nov 1
    assert reasons(api, campaign) == []
    api.spend(campaign, "6", occurred_at="2026-11-01T04:30:00Z")  # first 00:30
    api.spend(campaign, "4", occurred_at="2026-11-01T05:30:00Z")  # second 00:30, same day
    api.run_jobs("2026-11-01T05:45:00Z")
    assert reasons(api, campaign) == ["campaign_daily_budget"]
    day = api.status(campaign, at="2026-11-01T05:45:00Z")["evaluation"]["spend"]
    assert day["campaign_today"] == "10.00"


def test_santiagos_skipped_midnight_starts_the_day_at_the_first_instant(api: Api) -> None:
    campaign = api.campaign(api.brand(timezone="America/Santiago"), daily_budget="10")
    api.spend(campaign, "10", occurred_at="2026-09-06T03:00:00Z")  # Sep 5, 23:00 -04
    api.run_jobs("2026-09-06T03:59:59Z")
    assert reasons(api, campaign) == ["campaign_daily_budget"]
    api.run_jobs("2026-09-06T04:00:00Z")  # 01:00 -03: midnight never happens
    assert reasons(api, campaign) == []


def test_lord_howes_half_hour_dst_day_is_23_and_a_half_hours(api: Api) -> None:
    campaign = api.campaign(api.brand(timezone="Australia/Lord_Howe"), daily_budget="10")
    # Oct 4 2026 begins 2026-10-03T13:30Z (+10:30); Oct 5 begins 2026-10-04T13:00Z (+11).
    api.spend(campaign, "10", occurred_at="2026-10-03T13:30:00Z")
    assert api.status(campaign, at="2026-10-04T12:59:59Z")["evaluation"]["reasons"] == [
        "campaign_daily_budget"]
    assert api.status(campaign, at="2026-10-04T13:00:00Z")["evaluation"]["reasons"] == []
    assert api.status(campaign, at="2026-10-03T13:29:59Z")["evaluation"]["reasons"] == []


def schedule(api: Api, campaign: dict[str, Any], windows: list[dict[str, Any]]) -> Any:
    return api.put(f"campaigns/{campaign['id']}/schedule", {"windows": windows})


def test_a_window_past_midnight_in_kathmandu(api: Api) -> None:
    campaign = api.campaign(api.brand(timezone="Asia/Kathmandu"), dayparting=True)
    # Friday 22:00 to Saturday 02:00, +05:45.
    api.ok(schedule(api, campaign, [{"day_of_week": 4, "start": "22:00", "end": "02:00"}]))
    def in_window(at: str) -> bool:
        return bool(api.status(campaign, at=at)["evaluation"]["in_window"])
    assert not in_window("2026-03-13T16:14:00Z")  # Fri 21:59
    assert in_window("2026-03-13T16:15:00Z")  # Fri 22:00
    assert in_window("2026-03-13T20:14:00Z")  # Sat 01:59
    assert not in_window("2026-03-13T20:15:00Z")  # Sat 02:00
    api.run_jobs("2026-03-13T16:15:00Z")
    assert reasons(api, campaign) == []
    api.run_jobs("2026-03-13T20:15:00Z")
    assert reasons(api, campaign) == ["dayparting"]


def test_new_york_windows_across_both_dst_changes(api: Api) -> None:
    campaign = api.campaign(api.brand(timezone="America/New_York"), dayparting=True)
    api.ok(schedule(api, campaign, [{"day_of_week": 6, "start": "01:00", "end": "03:00"}]))
    def in_window(at: str) -> bool:
        return bool(api.status(campaign, at=at)["evaluation"]["in_window"])
    # Spring forward, Sunday 2026-03-08: 02:00 EST jumps to 03:00 EDT; the window lasts 1 h.
    assert in_window("2026-03-08T06:00:00Z")  # 01:00 EST
    assert in_window("2026-03-08T06:59:59Z")  # 01:59:59 EST
    assert not in_window("2026-03-08T07:00:00Z")  # 03:00 EDT
    # Fall back, Sunday 2026-11-01: 01:30 happens twice and is inside both times.
    assert in_window("2026-11-01T05:30:00Z")  # 01:30 EDT
    assert in_window("2026-11-01T06:30:00Z")  # 01:30 EST
    assert in_window("2026-11-01T07:59:00Z")  # 02:59 EST
    assert not in_window("2026-11-01T08:00:00Z")  # 03:00 EST


def test_windows_ending_at_24_00(api: Api) -> None:
    campaign = api.campaign(api.brand(timezone="Europe/Paris"), dayparting=True)
    api.ok(schedule(api, campaign, [{"day_of_week": 0, "start": "22:00", "end": "24:00"}]))
    got = api.ok(api.get(f"campaigns/{campaign['id']}/schedule"))
    assert got == {"windows": [{"day_of_week": 0, "start": "22:00", "end": "24:00"}]}
    assert api.status(campaign, at="2026-03-02T22:59:00Z")["evaluation"]["in_window"]
    assert not api.status(campaign, at="2026-03-02T23:00:00Z")["evaluation"]["in_window"]


def test_editing_the_schedule_re_evaluates_at_once(api: Api) -> None:
    campaign = api.campaign(api.brand(), dayparting=True)
    assert reasons(api, campaign) == ["dayparting"]
    every_day = [{"day_of_week": d, "start": "00:00", "end": "24:00"} for d in range(7)]
    api.ok(schedule(api, campaign, every_day))
    assert reasons(api, campaign) == []
    assert history(api, campaign)[0]["cause"] == "edit"


# --- A brand's new time zone ----------------------------------------------------------------

def sums_at(api: Api, campaign: dict[str, Any], at: str) -> tuple[str, str, list[str]]:
    evaluation = api.status(campaign, at)["evaluation"]
    spend = evaluation["spend"]
    return spend["campaign_today"], spend["campaign_month"], evaluation["reasons"]


def test_a_new_time_zone_moves_recorded_spend_to_that_zones_days_and_months(api: Api) -> None:
    brand = api.brand(timezone="UTC")
    campaign = api.campaign(brand, daily_budget="4.00")
    api.spend(campaign, "4.00", occurred_at="2026-03-01T23:30:00Z")  # 2 March 08:30 in Tokyo
    api.spend(campaign, "1.00", occurred_at="2026-03-31T20:00:00Z")  # 1 April 05:00 in Tokyo
    assert sums_at(api, campaign, "2026-03-01T23:45:00Z") == (
        "4.00", "5.00", ["campaign_daily_budget"])
    assert sums_at(api, campaign, "2026-03-02T00:15:00Z") == ("0.00", "5.00", [])

    edited = api.patch(f"brands/{brand['id']}", {"timezone": "Asia/Tokyo"})
    assert api.ok(edited)["timezone"] == "Asia/Tokyo"
    assert sums_at(api, campaign, "2026-03-01T23:45:00Z") == (  # 2 March 08:45 in Tokyo
        "4.00", "4.00", ["campaign_daily_budget"])
    assert sums_at(api, campaign, "2026-03-01T14:00:00Z") == ("0.00", "4.00", [])  # 1 March
    assert sums_at(api, campaign, "2026-03-31T16:00:00Z") == ("1.00", "1.00", [])  # 1 April


def test_moving_a_brand_to_another_zone_runs_the_same_queries_for_1_or_30_events(
    api: Api,
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    # One zone for both: whether the move brings the next local midnight earlier (so the edit
    # also lowers the agency's pass marker, one more statement) depends on the time of day.
    for events, zone in ((1, "Asia/Tokyo"), (30, "Asia/Tokyo")):
        brand = api.brand(timezone="UTC", name=f"{zone} {events}")
        campaign = api.campaign(brand)
        for n in range(events):
            api.spend(campaign, "0.10", occurred_at=f"2026-03-01T{n % 24:02d}:00:00Z")
        with CaptureQueriesContext(connection) as queries:
            api.ok(api.patch(f"brands/{brand['id']}", {"timezone": zone}))
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_a_zone_change_decided_on_a_stale_read_still_moves_the_spend(api: Api) -> None:
    """Two edits of one brand: the second read the brand before the first changed its zone, and
    sets it back. It must compare with the zone as locked, not as it read it."""
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from campaigns import services
    from campaigns.models import Brand, Spend

    brand = api.brand(timezone="UTC")
    campaign = api.campaign(brand)
    api.spend(campaign, "4.00", occurred_at="2026-03-01T23:30:00Z")
    with schema_context(api.agency.schema_name):
        stale = Brand.objects.get(pk=brand["id"])
    api.ok(api.patch(f"brands/{brand['id']}", {"timezone": "Asia/Tokyo"}))
    with schema_context(api.agency.schema_name):
        services.update_brand(stale, {"timezone": "UTC"}, actor=actor_for_tests(),
                              now=timezone.now())
        assert [str(day) for day in Spend.objects.values_list("local_day", flat=True)] == [
            "2026-03-01"]
    assert sums_at(api, campaign, "2026-03-01T23:45:00Z")[:2] == ("4.00", "4.00")


def test_moved_spend_gets_the_local_day_clock_gives_across_havanas_dst_midnights(
    api: Api,
) -> None:
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from django_tenants.utils import schema_context

    from campaigns import clock
    from campaigns.models import Spend

    brand = api.brand(timezone="Asia/Tokyo")
    campaign = api.campaign(brand)
    instants = [datetime.fromisoformat(edge) + timedelta(minutes=minutes)
                for edge in ("2026-03-08T05:00:00+00:00", "2026-11-01T05:00:00+00:00")
                for minutes in range(-90, 91, 15)]
    for n, at in enumerate(instants):
        api.spend(campaign, "0.01", occurred_at=at.isoformat(), event_id=f"h-{n}")
    api.ok(api.patch(f"brands/{brand['id']}", {"timezone": "America/Havana"}))
    havana = ZoneInfo("America/Havana")
    with schema_context(api.agency.schema_name):
        stored = dict(Spend.objects.values_list("occurred_at", "local_day"))
    assert stored == {at: clock.local_day(at, havana) for at in instants}

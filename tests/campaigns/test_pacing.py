"""Flights, even pacing, the pace band and the run-out forecast: the pure rules, over many zones
and DST changes, and the contract's named cases."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campaigns import clock
from campaigns.clock import Window
from campaigns.pacing import (
    AHEAD,
    ASAP,
    BEHIND,
    CAMPAIGN_LIFETIME_BUDGET,
    EVEN,
    FLIGHT,
    ON_PACE,
    PACING,
    Flight,
    allowance_at,
    daily_allowance,
    flight_bounds,
    flight_reasons,
    next_change_at,
    outside_flight,
    pace,
    run_out_at,
)
from tests.campaigns.test_clock import (
    NAMED_ZONES,
    PROPERTY_SETTINGS,
    SERVICE_ZONES,
    instants,
    offset_changes,
    schedules,
    utc,
)

SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
US = timedelta(microseconds=1)
CENT = Decimal("0.01")
UTC_ZONE = ZoneInfo("UTC")
NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")


def money(text: str) -> Decimal:
    return Decimal(text)


def flight_days(flight: Flight) -> list[date]:
    return [
        flight.start_date + k * DAY for k in range((flight.end_date - flight.start_date).days + 1)
    ]


def spend_each_allowance(
    flight: Flight, tz: ZoneInfo, windows: Sequence[Window], dayparting: bool
) -> list[Decimal]:
    """Spend exactly each day's allowance, day after day, as a campaign paced evenly would."""
    spent, allowances = Decimal(0), []
    for day in flight_days(flight):
        allowance = daily_allowance(day, flight, tz, windows, dayparting, spent)
        allowances.append(allowance)
        spent += allowance
    return allowances


# Strategies: flights in any zone, often across an offset change, from one day to a season,
# with schedules that leave some days without any scheduled minute.


@st.composite
def zones(draw: st.DrawFn) -> ZoneInfo:
    return draw(
        st.one_of(st.sampled_from(NAMED_ZONES), st.sampled_from(SERVICE_ZONES).map(ZoneInfo))
    )


@st.composite
def sparse_schedules(draw: st.DrawFn) -> list[Window]:
    """Up to four windows on a few weekdays, edges often at the hours clocks change."""
    edges = st.one_of(st.sampled_from([0, 60, 90, 120, 150, 180, 1380]), st.integers(0, 1439))
    result = []
    for _ in range(draw(st.integers(0, 4))):
        start, end = draw(edges), draw(edges.map(lambda m: m or 1440))
        if start != end:
            result.append(Window(draw(st.integers(0, 6)), start, end))
    return result


@st.composite
def even_flights(draw: st.DrawFn) -> tuple[ZoneInfo, Flight, list[Window], bool]:
    tz = draw(zones())
    year = draw(st.integers(1990, 2040))
    changes = offset_changes(tz, year)
    length = draw(st.one_of(st.just(1), st.integers(1, 10), st.integers(1, 60)))
    if changes and draw(st.integers(0, 3)):
        # The day of the change is in the flight, often near its start or end.
        change: datetime = draw(st.sampled_from(changes))
        start = change.astimezone(tz).date() - draw(st.integers(0, length - 1)) * DAY
    else:
        start = date(year, 1, 1) + draw(st.integers(0, 364)) * DAY
    cents = draw(st.one_of(st.integers(0, 200), st.integers(0, 10**10)))
    flight = Flight(start, start + (length - 1) * DAY, Decimal(cents).scaleb(-2), EVEN)
    return tz, flight, draw(sparse_schedules()), draw(st.booleans())


FLIGHT_SETTINGS = settings(PROPERTY_SETTINGS, max_examples=60)


# Even pacing: the allowances.


@FLIGHT_SETTINGS
@given(even_flights())
def test_spending_exactly_each_allowance_spends_the_lifetime_budget_to_the_cent(
    case: tuple[ZoneInfo, Flight, list[Window], bool],
) -> None:
    tz, flight, windows, dayparting = case
    assert flight.lifetime_budget is not None
    allowances = spend_each_allowance(flight, tz, windows, dayparting)
    start, end = flight_bounds(flight, tz)
    has_scheduled_time = clock.scheduled_time(start, end, tz, windows, dayparting) > timedelta(0)
    assert sum(allowances) == (flight.lifetime_budget if has_scheduled_time else 0)


@FLIGHT_SETTINGS
@given(even_flights())
def test_allowances_are_whole_cents_never_negative_and_never_add_up_past_the_budget(
    case: tuple[ZoneInfo, Flight, list[Window], bool],
) -> None:
    tz, flight, windows, dayparting = case
    assert flight.lifetime_budget is not None
    running = Decimal(0)
    for day, allowance in zip(
        flight_days(flight), spend_each_allowance(flight, tz, windows, dayparting), strict=True
    ):
        assert allowance >= 0
        assert allowance == allowance.quantize(CENT)
        running += allowance
        assert running <= flight.lifetime_budget
        if clock.day_scheduled_time(day, tz, windows, dayparting) == timedelta(0):
            assert allowance == 0


@FLIGHT_SETTINGS
@given(even_flights(), st.data())
def test_each_allowance_is_the_days_share_of_what_is_left_rounded_down_to_the_cent(
    case: tuple[ZoneInfo, Flight, list[Window], bool], data: st.DataObject
) -> None:
    """Whatever was really spent (too little, too much, fractions of a cent), a day gets its
    share of what is left by scheduled time, within a cent below; the last day with scheduled
    time gets all of it; an overspent flight gets nothing."""
    tz, flight, windows, dayparting = case
    assert flight.lifetime_budget is not None
    days = flight_days(flight)
    weights = [clock.day_scheduled_time(day, tz, windows, dayparting) // US for day in days]
    spent = Decimal(0)
    for k, day in enumerate(days):
        allowance = daily_allowance(day, flight, tz, windows, dayparting, spent)
        left = max(Decimal(0), flight.lifetime_budget - spent)
        remaining = sum(weights[k:])
        if weights[k] == 0:
            assert allowance == 0
        elif remaining == weights[k]:
            assert allowance == left
        else:
            exact = Fraction(left) * Fraction(weights[k], remaining)
            assert 0 <= exact - Fraction(allowance) < Fraction(1, 100)
        factor = data.draw(st.sampled_from(["0", "0.5", "1", "1.5", "3"]))
        noise = Decimal(data.draw(st.integers(0, 10**6))).scaleb(-6)
        spent += allowance * Decimal(factor) + noise


@PROPERTY_SETTINGS
@given(even_flights())
def test_without_dayparting_a_day_weighs_its_real_length(
    case: tuple[ZoneInfo, Flight, list[Window], bool],
) -> None:
    """Checked against the days' lengths straight from their local midnights."""
    tz, flight, _, _ = case
    assert flight.lifetime_budget is not None
    days = flight_days(flight)
    seconds = [
        (clock.day_start(day + DAY, tz) - clock.day_start(day, tz)) // SECOND for day in days
    ]
    first = daily_allowance(days[0], flight, tz, [], False, Decimal(0))
    if len(days) == 1:
        assert first == flight.lifetime_budget
    elif seconds[0]:
        exact = Fraction(flight.lifetime_budget) * Fraction(seconds[0], sum(seconds))
        assert 0 <= exact - Fraction(first) < Fraction(1, 100)


def test_new_york_spring_forward_day_has_23_hours_of_the_budget() -> None:
    flight = Flight(date(2024, 3, 9), date(2024, 3, 11), money("71.00"), EVEN)
    # 24 + 23 + 24 hours: the Sunday's share is 23/71.
    assert spend_each_allowance(flight, NEW_YORK, [], False) == [
        money("24.00"),
        money("23.00"),
        money("24.00"),
    ]


def test_new_york_fall_back_day_has_25_hours_of_the_budget() -> None:
    flight = Flight(date(2024, 11, 2), date(2024, 11, 4), money("73.00"), EVEN)
    assert spend_each_allowance(flight, NEW_YORK, [], False) == [
        money("24.00"),
        money("25.00"),
        money("24.00"),
    ]


def test_cents_that_do_not_divide_evenly_go_to_the_last_day() -> None:
    flight = Flight(date(2024, 6, 1), date(2024, 6, 3), money("100.00"), EVEN)
    assert spend_each_allowance(flight, UTC_ZONE, [], False) == [
        money("33.33"),
        money("33.33"),
        money("33.34"),
    ]


def test_a_one_day_flight_may_spend_its_whole_budget_that_day() -> None:
    flight = Flight(date(2024, 3, 10), date(2024, 3, 10), money("12.34"), EVEN)
    assert daily_allowance(date(2024, 3, 10), flight, NEW_YORK, [], False, Decimal(0)) == money(
        "12.34"
    )


def test_with_dayparting_the_budget_follows_the_windows_and_skips_the_weekend() -> None:
    # Friday 2024-06-14 to Monday 2024-06-17; windows Mon-Fri 09:00-17:00 and Friday evening.
    weekdays = [Window(day, 9 * 60, 17 * 60) for day in range(5)] + [Window(4, 18 * 60, 22 * 60)]
    flight = Flight(date(2024, 6, 14), date(2024, 6, 17), money("120.00"), EVEN)
    # Friday has 12 scheduled hours, the weekend none, Monday 8: 12/20 and the rest.
    assert spend_each_allowance(flight, BERLIN, weekdays, True) == [
        money("72.00"),
        money("0.00"),
        money("0.00"),
        money("48.00"),
    ]


def test_the_last_day_with_scheduled_minutes_takes_what_is_left() -> None:
    mondays = [Window(0, 600, 660)]
    # Monday 2024-06-17 is the flight's only scheduled day, then six days without.
    flight = Flight(date(2024, 6, 17), date(2024, 6, 23), money("50.00"), EVEN)
    assert daily_allowance(date(2024, 6, 17), flight, BERLIN, mondays, True, money("0.004")) == (
        money("49.996")
    )
    assert daily_allowance(date(2024, 6, 18), flight, BERLIN, mondays, True, money("10")) == 0


def test_an_overspent_flight_and_a_day_outside_the_flight_get_nothing() -> None:
    flight = Flight(date(2024, 6, 1), date(2024, 6, 10), money("100.00"), EVEN)
    assert daily_allowance(date(2024, 6, 5), flight, UTC_ZONE, [], False, money("100.01")) == 0
    assert daily_allowance(date(2024, 5, 31), flight, UTC_ZONE, [], False, Decimal(0)) == 0
    assert daily_allowance(date(2024, 6, 11), flight, UTC_ZONE, [], False, Decimal(0)) == 0


def test_a_flight_across_a_skipped_midnight_weighs_that_day_23_hours() -> None:
    santiago = ZoneInfo("America/Santiago")  # 2023-09-03 starts at 01:00
    flight = Flight(date(2023, 9, 2), date(2023, 9, 3), money("47.00"), EVEN)
    assert spend_each_allowance(flight, santiago, [], False) == [money("24.00"), money("23.00")]


def test_todays_allowance_exists_only_inside_an_evenly_paced_flight() -> None:
    even = Flight(date(2024, 6, 1), date(2024, 6, 10), money("100.00"), EVEN)
    asap = Flight(date(2024, 6, 1), date(2024, 6, 10), money("100.00"), ASAP)
    inside = utc(2024, 6, 2, 12)
    assert allowance_at(inside, even, UTC_ZONE, [], False, money("10.00")) == money("10.00")
    assert allowance_at(inside, asap, UTC_ZONE, [], False, money("10.00")) is None
    assert allowance_at(utc(2024, 5, 31, 23), even, UTC_ZONE, [], False, Decimal(0)) is None
    assert allowance_at(utc(2024, 6, 11), even, UTC_ZONE, [], False, Decimal(0)) is None


@pytest.mark.parametrize(
    ("start", "end", "budget", "pacing"),
    [
        (date(2024, 6, 2), date(2024, 6, 1), money("1"), ASAP),
        (date(2024, 6, 1), date(2024, 6, 2), None, EVEN),
        (date(2024, 6, 1), date(2024, 6, 2), money("1"), "fast"),
    ],
)
def test_impossible_flights_are_refused(
    start: date, end: date, budget: Decimal | None, pacing: str
) -> None:
    with pytest.raises(ValueError):
        Flight(start, end, budget, pacing)


# The reasons.


def test_a_flight_runs_from_its_start_dates_local_midnight_to_the_one_after_its_end_date() -> None:
    flight = Flight(date(2024, 6, 1), date(2024, 6, 10), None)
    start, end = utc(2024, 5, 31, 22), utc(2024, 6, 10, 22)  # Berlin midnights (CEST)
    assert flight_bounds(flight, BERLIN) == (start, end)
    assert outside_flight(start - SECOND, flight, BERLIN)
    assert not outside_flight(start, flight, BERLIN)
    assert not outside_flight(end - SECOND, flight, BERLIN)
    assert outside_flight(end, flight, BERLIN)


def test_a_flight_starting_on_a_skipped_midnight_starts_at_the_first_instant_that_exists() -> None:
    santiago = ZoneInfo("America/Santiago")
    flight = Flight(date(2023, 9, 3), date(2023, 9, 3), None)
    assert outside_flight(utc(2023, 9, 3, 4) - SECOND, flight, santiago)
    assert not outside_flight(utc(2023, 9, 3, 4), flight, santiago)


def reasons_at(at: datetime, **kwargs: object) -> set[str]:
    defaults: dict[str, object] = {
        "flight": Flight(date(2024, 6, 1), date(2024, 6, 10), money("100"), EVEN),
        "lifetime_budget": money("100"),
        "lifetime_spend": Decimal(0),
        "spent_today": Decimal(0),
        "allowance": money("10"),
    }
    return flight_reasons(at, UTC_ZONE, **{**defaults, **kwargs})


def test_the_flight_reasons_follow_the_dates_the_lifetime_budget_and_the_allowance() -> None:
    inside = utc(2024, 6, 5, 12)
    assert reasons_at(inside) == set()
    assert reasons_at(utc(2024, 5, 31, 23), allowance=None) == {FLIGHT}
    assert reasons_at(inside, lifetime_spend=money("100")) == {CAMPAIGN_LIFETIME_BUDGET}
    assert reasons_at(inside, spent_today=money("10")) == {PACING}
    assert reasons_at(inside, spent_today=money("9.99")) == set()
    assert reasons_at(inside, spent_today=money("99"), allowance=None) == set()
    assert reasons_at(inside, allowance=Decimal(0)) == {PACING}  # a day without minutes


def test_a_lifetime_budget_without_dates_covers_all_spend() -> None:
    anytime = utc(2030, 1, 1)
    assert reasons_at(anytime, flight=None, lifetime_spend=money("99.99"), allowance=None) == set()
    assert reasons_at(anytime, flight=None, lifetime_spend=money("100"), allowance=None) == {
        CAMPAIGN_LIFETIME_BUDGET
    }
    assert reasons_at(anytime, flight=None, lifetime_budget=Decimal(0), allowance=None) == {
        CAMPAIGN_LIFETIME_BUDGET
    }
    assert reasons_at(anytime, flight=None, lifetime_budget=None, allowance=None) == set()


# The pace.

TEN_DAYS = Flight(date(2024, 6, 1), date(2024, 6, 10), money("1000.00"), EVEN)


def pace_at(at: datetime, spent: str, flight: Flight = TEN_DAYS) -> tuple[object, ...]:
    result = pace(at, flight, UTC_ZONE, [], False, money(spent))
    return result.expected, result.ratio, result.state, result.projected_total, result.band


def test_halfway_through_the_band_is_halfway_narrowed() -> None:
    halfway = utc(2024, 6, 6)
    assert pace_at(halfway, "565") == (
        money("500.00"),
        money("1.13"),
        ON_PACE,
        money("1130.00"),
        money("0.13"),
    )
    assert pace_at(halfway, "566")[2] == AHEAD
    assert pace_at(halfway, "435")[2] == ON_PACE
    assert pace_at(halfway, "434.99")[2] == BEHIND
    assert pace_at(halfway, "400")[3] == money("800.00")


def test_the_band_is_a_quarter_at_the_start_and_a_hundredth_at_the_end() -> None:
    start, end = flight_bounds(TEN_DAYS, UTC_ZONE)
    assert pace_at(start, "0") == (money("0.00"), None, ON_PACE, None, money("0.25"))
    assert pace_at(start, "0.01")[2] == AHEAD  # nothing expected yet
    assert pace_at(end, "990")[1:3] == (money("0.99"), ON_PACE)
    assert pace_at(end, "989.99")[2] == BEHIND
    assert pace_at(end + 30 * DAY, "1010")[2:] == (ON_PACE, money("1010.00"), money("0.01"))
    assert pace_at(end, "1010.01")[2] == AHEAD


def test_before_the_start_there_is_no_state_and_without_a_budget_no_line() -> None:
    assert pace_at(utc(2024, 5, 31), "0") == (money("0.00"), None, None, None, money("0.25"))
    no_budget = Flight(date(2024, 6, 1), date(2024, 6, 10), None)
    assert pace_at(utc(2024, 6, 6), "300", no_budget) == (
        None,
        None,
        None,
        money("600.00"),
        money("0.13"),
    )


def test_with_dayparting_the_line_and_the_band_stand_still_outside_the_windows() -> None:
    nine_to_five = [Window(day, 9 * 60, 17 * 60) for day in range(7)]

    def at(moment: datetime) -> tuple[Decimal | None, Decimal]:
        result = pace(moment, TEN_DAYS, BERLIN, nine_to_five, True, money("100"))
        return result.expected, result.band

    # 17:00 on the first day and 09:00 on the second (CEST) are both a tenth of the flight.
    assert at(utc(2024, 6, 1, 15)) == at(utc(2024, 6, 2, 7)) == (money("100.00"), money("0.226"))
    assert at(utc(2024, 6, 2, 9))[0] == money("125.00")  # 11:00: 10 of 80 hours


def test_on_the_spring_forward_day_the_line_rises_over_23_hours() -> None:
    one_day = Flight(date(2024, 3, 10), date(2024, 3, 10), money("230.00"), EVEN)
    noon_edt = utc(2024, 3, 10, 16)  # 11 real hours after midnight EST
    result = pace(noon_edt, one_day, NEW_YORK, [], False, money("110"))
    assert (result.expected, result.ratio, result.state) == (money("110.00"), money("1"), ON_PACE)


# The forecast.


def forecast(
    at: datetime,
    tz: ZoneInfo,
    cap: str | None,
    spent: str,
    windows: Sequence[Window] = (),
    dayparting: bool = False,
) -> datetime | None:
    bounds = clock.local_day_bounds(at, tz)
    return run_out_at(
        at, tz, bounds, None if cap is None else money(cap), money(spent), windows, dayparting
    )


def test_berlin_at_this_rate_used_up_around_15_40() -> None:
    ten = utc(2024, 6, 17, 8)  # 10:00 CEST: 60.00 in 10 hours is 6.00 an hour
    reached = forecast(ten, BERLIN, "94.00", "60.00")
    assert reached is not None
    assert reached.isoformat() == "2024-06-17T15:40:00+02:00"


def test_with_dayparting_the_rest_is_spent_only_inside_the_windows() -> None:
    monday = [Window(0, 9 * 60, 12 * 60), Window(0, 13 * 60, 18 * 60)]
    eleven = utc(2024, 6, 17, 9)  # 40.00 in the 2 scheduled hours: 20.00 an hour
    reached = forecast(eleven, BERLIN, "130.00", "40.00", monday, True)
    assert reached is not None
    assert reached.isoformat() == "2024-06-17T16:30:00+02:00"  # 1 h before noon, 3.5 from 13:00
    assert forecast(eleven, BERLIN, "200.00", "40.00", monday, True) is None  # past 18:00


def test_on_dst_days_the_rate_is_over_the_real_hours_since_midnight() -> None:
    spring_noon = utc(2024, 3, 10, 16)  # 12:00 EDT, 11 hours after midnight EST
    assert forecast(spring_noon, NEW_YORK, "100", "55") == utc(2024, 3, 11, 1)  # 21:00 EDT
    autumn_noon = utc(2024, 11, 3, 17)  # 12:00 EST, 13 hours after midnight EDT
    reached = forecast(autumn_noon, NEW_YORK, "100", "65")
    assert reached is not None
    assert reached.isoformat() == "2024-11-03T19:00:00-05:00"


def test_no_forecast_without_a_cap_a_rate_or_a_cap_left() -> None:
    ten = utc(2024, 6, 17, 8)
    assert forecast(ten, BERLIN, None, "60") is None
    assert forecast(ten, BERLIN, "94", "0") is None
    assert forecast(ten, BERLIN, "60", "60") is None
    assert forecast(ten, BERLIN, "200", "60") is None  # 140.00 more takes past midnight
    assert forecast(utc(2024, 6, 16, 22), BERLIN, "94", "1") is None  # midnight: no time passed
    monday = [Window(0, 9 * 60, 17 * 60)]
    assert forecast(utc(2024, 6, 17, 6), BERLIN, "94", "1", monday, True) is None  # before 09:00


def test_a_rate_too_slow_for_any_calendar_gives_no_forecast() -> None:
    ten = utc(2024, 6, 17, 8)
    assert forecast(ten, BERLIN, "999999999999.99", "0.000001") is None
    assert forecast(ten, BERLIN, "999999999999.99", "0.000001", [Window(0, 0, 1440)], True) is None


def test_the_forecast_is_rounded_up_to_the_second() -> None:
    reached = forecast(utc(2024, 6, 17, 8), BERLIN, "94.00", "60.01")
    assert reached is not None
    assert reached.microsecond == 0
    assert reached.astimezone(BERLIN).strftime("%H:%M") == "15:39"


@st.composite
def rates(draw: st.DrawFn) -> tuple[ZoneInfo, datetime, list[Window], bool, Decimal, Decimal]:
    tz = draw(zones())
    at = draw(instants(tz))
    spent = Decimal(draw(st.integers(1, 10**10))).scaleb(-6)
    cap = spent + Decimal(draw(st.one_of(st.integers(1, 10**8), st.integers(1, 10**18)))).scaleb(-4)
    return tz, at, draw(schedules(tz, at)), draw(st.booleans()), cap, spent


@settings(PROPERTY_SETTINGS, max_examples=80)
@given(rates())
def test_the_forecast_is_when_todays_rate_reaches_the_cap_before_the_day_ends(
    case: tuple[ZoneInfo, datetime, list[Window], bool, Decimal, Decimal],
) -> None:
    tz, at, windows, dayparting, cap, spent = case
    day_begins, day_ends = clock.local_day_bounds(at, tz)
    elapsed = clock.scheduled_time(day_begins, at, tz, windows, dayparting)
    reached = run_out_at(at, tz, (day_begins, day_ends), cap, spent, windows, dayparting)
    if not elapsed:
        assert reached is None
        return
    rate = Fraction(spent) / Fraction(elapsed / US)

    def spend_by(moment: datetime) -> Fraction:
        passed = clock.scheduled_time(at, moment, tz, windows, dayparting)
        return Fraction(spent) + rate * (passed // US)

    if reached is None:
        assert spend_by(day_ends - SECOND) < cap
    else:
        assert reached.tzinfo is tz
        assert at < reached < day_ends
        assert spend_by(reached) >= cap
        assert spend_by(reached - SECOND) < cap


# When to look again.


def brute_next_change(
    at: datetime, tz: ZoneInfo, windows: Sequence[Window], dayparting: bool
) -> datetime:
    """Step through whole minutes until the local day or the window membership changes."""

    def signature(moment: datetime) -> tuple[date, bool]:
        return clock.local_day(moment, tz), dayparting and clock.in_window(moment, tz, windows)

    before = signature(at)
    step = at.replace(second=0, microsecond=0) + MINUTE
    while signature(step) == before:
        step += MINUTE
    return step


@settings(PROPERTY_SETTINGS, max_examples=40)
@given(zones().flatmap(lambda tz: st.tuples(st.just(tz), instants(tz))), st.data())
def test_next_change_is_the_first_instant_the_day_or_the_window_changes(
    zone_at: tuple[ZoneInfo, datetime], data: st.DataObject
) -> None:
    tz, at = zone_at
    windows = data.draw(schedules(tz, at))
    dayparting = data.draw(st.booleans())
    assert next_change_at(at, tz, windows, dayparting) == brute_next_change(
        at, tz, windows, dayparting
    )


def test_the_next_change_comes_no_later_than_a_flights_start_or_end_or_a_new_month() -> None:
    flight = Flight(date(2024, 7, 1), date(2024, 7, 31), money("100"), EVEN)
    start, end = flight_bounds(flight, BERLIN)
    assert next_change_at(start - HOUR, BERLIN, [], False) == start
    assert next_change_at(end - SECOND, BERLIN, [], False) == end
    assert next_change_at(end - SECOND, BERLIN, [Window(0, 600, 660)], True) == end


def test_the_next_change_with_dayparting_is_the_next_window_edge() -> None:
    monday = [Window(0, 9 * 60, 17 * 60)]
    assert next_change_at(utc(2024, 6, 17, 6), BERLIN, monday, True) == utc(2024, 6, 17, 7)
    assert next_change_at(utc(2024, 6, 17, 7), BERLIN, monday, True) == utc(2024, 6, 17, 15)
    assert next_change_at(utc(2024, 6, 17, 15), BERLIN, monday, True) == utc(2024, 6, 17, 22)

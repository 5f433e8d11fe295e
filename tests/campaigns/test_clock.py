"""The brand's local day, month and dayparting windows, checked against brute-force definitions
over many zones (including the odd ones) and against the contract's named DST cases."""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaigns.clock import (
    Window,
    after_scheduled_time,
    day_scheduled_time,
    day_start,
    format_hhmm,
    in_window,
    local_day,
    local_day_bounds,
    local_month,
    local_month_bounds,
    next_window_change,
    parse_hhmm,
    scheduled_time,
)

SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
UTC_ZONE = ZoneInfo("UTC")

NAMED_ZONES = [
    ZoneInfo(name)
    for name in (
        "America/Havana",
        "America/Santiago",
        "Australia/Lord_Howe",
        "Asia/Kathmandu",
        "Pacific/Kiritimati",
        "Pacific/Pago_Pago",
        "America/New_York",
        "Europe/Paris",
        "America/Asuncion",
        "Asia/Kolkata",
        "UTC",
        "America/Goose_Bay",  # fell back across midnight (00:01 -> 23:01) until 2010
        "Pacific/Apia",  # skipped a whole day in 2011
    )
]
# The zones the API accepts (hypothesis' own `timezones()` also draws leap-second "right/"
# zones, which no brand can have).
SERVICE_ZONES = sorted(available_timezones())
# No example database: the checkout stays clean. Locally every run draws afresh; in CI the
# draws are fixed, so a landing never depends on luck (a failure found locally is reproducible
# from the printed example).
PROPERTY_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    database=None,
    derandomize=bool(os.environ.get("CI")),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


# Brute-force definitions: slow, obviously right, independent of the code under test.


def wall_date(at: datetime, tz: ZoneInfo) -> date:
    return at.astimezone(tz).date()


def brute_day_start(day: date, tz: ZoneInfo) -> datetime:
    """Walk forward a minute, then a second, at a time to the first instant dated `day` or later."""
    at = datetime.combine(day, time(), tzinfo=UTC) - 16 * HOUR
    while wall_date(at, tz) < day:
        at += MINUTE
    at -= MINUTE
    while wall_date(at, tz) < day:
        at += SECOND
    return at


def brute_local_day(at: datetime, tz: ZoneInfo) -> date:
    """The latest day starting at or before `at`, among the days around its wall date."""
    around = [wall_date(at, tz) + k * DAY for k in (-1, 0, 1)]
    return max(day for day in around if brute_day_start(day, tz) <= at)


def covered_minutes(windows: Sequence[Window]) -> set[tuple[int, int]]:
    """Every (weekday, wall minute) a schedule covers, by walking each window minute by minute."""
    cells = set()
    for window in windows:
        length = window.end - window.start
        if length < 0:
            length += 1440
        for k in range(length):
            minute_of_week = (window.day_of_week * 1440 + window.start + k) % (7 * 1440)
            cells.add(divmod(minute_of_week, 1440))
    return cells


def brute_in_window(at: datetime, tz: ZoneInfo, cells: set[tuple[int, int]]) -> bool:
    wall = at.astimezone(tz)
    return (wall.weekday(), wall.hour * 60 + wall.minute) in cells


def brute_next_change(at: datetime, tz: ZoneInfo, windows: Sequence[Window]) -> datetime | None:
    """Step through whole UTC minutes (every offset since 1990 is whole minutes) for 8 days."""
    cells = covered_minutes(windows)
    inside = brute_in_window(at, tz, cells)
    step = at.replace(second=0, microsecond=0) + MINUTE
    while step <= at + 8 * DAY:
        if brute_in_window(step, tz, cells) != inside:
            return step
        step += MINUTE
    return None


# Strategies: instants from 1990 to 2040, most of them close to an offset change (where the
# clock jumps), and schedules whose edges sit right at those jumps.


@functools.cache
def offset_changes(tz: ZoneInfo, year: int) -> tuple[datetime, ...]:
    """The instants of the year at which tz's UTC offset changes, found by walking six hours,
    then minutes, then seconds at a time."""

    def offset(at: datetime) -> timedelta | None:
        return at.astimezone(tz).utcoffset()

    changes = []
    at = utc(year, 1, 1)
    while at.year == year:
        if offset(at + 6 * HOUR) != offset(at):
            step = at
            while offset(step + MINUTE) == offset(at):
                step += MINUTE
            while offset(step) == offset(at):
                step += SECOND
            changes.append(step)
        at += 6 * HOUR
    return tuple(changes)


@st.composite
def instants(draw: st.DrawFn, tz: ZoneInfo) -> datetime:
    year = draw(st.integers(1990, 2040))
    changes = offset_changes(tz, year)
    near_a_change: int = draw(st.integers(0, 3))
    if changes and near_a_change:
        anchor: datetime = draw(st.sampled_from(changes))
        nearby = st.one_of(
            st.integers(-2, 2), st.integers(-7200, 7200), st.integers(-2, 2).map(lambda h: h * 3600)
        )
        return anchor + draw(nearby) * SECOND
    return utc(year, 1, 1) + draw(st.integers(0, 365 * 86400 - 1)) * SECOND


@st.composite
def zone_and_instant(draw: st.DrawFn) -> tuple[ZoneInfo, datetime]:
    tz = draw(st.one_of(st.sampled_from(NAMED_ZONES), st.sampled_from(SERVICE_ZONES).map(ZoneInfo)))
    return tz, draw(instants(tz))


def wall_minute(at: datetime, tz: ZoneInfo) -> int:
    wall = at.astimezone(tz)
    return wall.hour * 60 + wall.minute


@st.composite
def schedules(draw: st.DrawFn, tz: ZoneInfo, at: datetime) -> list[Window]:
    """Up to four windows, edges often at the wall minutes around `at` or at midnight."""
    weekdays = [(at + k * HOUR).astimezone(tz).weekday() for k in (-3, 0, 3)]
    near = [wall_minute(at + k * MINUTE, tz) for k in (-60, -30, -1, 0, 1, 30, 60, 90)]
    edges = st.sampled_from([0, 1, 1439, *near])
    result = []
    for _ in range(draw(st.integers(0, 4))):
        # Mostly edges at the moment of interest; now and then anywhere.
        start = draw(edges if draw(st.integers(0, 4)) else st.integers(0, 1439))
        end = draw(
            edges.map(lambda m: m or 1440) if draw(st.integers(0, 4)) else st.integers(1, 1440)
        )
        day = draw(st.sampled_from(weekdays) if draw(st.integers(0, 4)) else st.integers(0, 6))
        if end != start:
            result.append(Window(day, start, end))
    return result


@st.composite
def zone_instant_schedule(draw: st.DrawFn) -> tuple[ZoneInfo, datetime, list[Window]]:
    tz, at = draw(zone_and_instant())
    schedule = draw(schedules(tz, at))
    # Start a little before the interesting moment so that it is the next change.
    return tz, at - draw(st.sampled_from([0, 1, 60, 1800, 3600, 7200])) * SECOND, schedule


# Properties.

named_zones = pytest.mark.parametrize("tz", NAMED_ZONES, ids=str)


@named_zones
@PROPERTY_SETTINGS
@given(data=st.data())
def test_a_day_starts_at_the_first_instant_whose_local_date_is_that_day(
    tz: ZoneInfo, data: st.DataObject
) -> None:
    at = data.draw(instants(tz))
    day = wall_date(at, tz) + data.draw(st.integers(-1, 1)) * DAY
    assert day_start(day, tz) == brute_day_start(day, tz)


@named_zones
@PROPERTY_SETTINGS
@given(data=st.data())
def test_every_instant_belongs_to_exactly_one_local_day(tz: ZoneInfo, data: st.DataObject) -> None:
    at = data.draw(instants(tz))
    day = local_day(at, tz)
    assert day == brute_local_day(at, tz)
    start, end = local_day_bounds(at, tz)
    assert (start, end) == (day_start(day, tz), day_start(day + DAY, tz))
    assert start <= at < end


@PROPERTY_SETTINGS
@given(zone_and_instant())
def test_any_zone_day_start_and_local_day_match_the_brute_force(
    zone_at: tuple[ZoneInfo, datetime],
) -> None:
    tz, at = zone_at
    day = wall_date(at, tz)
    assert day_start(day, tz) == brute_day_start(day, tz)
    assert local_day(at, tz) == brute_local_day(at, tz)


@PROPERTY_SETTINGS
@given(zone_and_instant())
def test_a_local_month_runs_from_the_start_of_its_first_day_to_that_of_the_next_month(
    zone_at: tuple[ZoneInfo, datetime],
) -> None:
    tz, at = zone_at
    first = local_month(at, tz)
    assert first == local_day(at, tz).replace(day=1)
    start, end = local_month_bounds(at, tz)
    following = (first + 32 * DAY).replace(day=1)
    assert (start, end) == (brute_day_start(first, tz), brute_day_start(following, tz))
    assert start <= at < end


@settings(PROPERTY_SETTINGS, max_examples=200)
@given(zone_instant_schedule())
def test_window_membership_follows_the_wall_clock(
    case: tuple[ZoneInfo, datetime, list[Window]],
) -> None:
    tz, at, schedule = case
    assert in_window(at, tz, schedule) == brute_in_window(at, tz, covered_minutes(schedule))


@settings(PROPERTY_SETTINGS, max_examples=150)
@given(zone_instant_schedule())
def test_next_window_change_is_the_first_instant_membership_flips(
    case: tuple[ZoneInfo, datetime, list[Window]],
) -> None:
    tz, at, schedule = case
    assert next_window_change(at, tz, schedule) == brute_next_change(at, tz, schedule)


def test_every_minute_of_the_day_round_trips_through_hhmm() -> None:
    for minutes in range(1441):
        assert parse_hhmm(format_hhmm(minutes), allow_24=True) == minutes


# The contract's named cases.


def test_havana_repeated_midnight_the_day_starts_at_the_first_midnight() -> None:
    havana = ZoneInfo("America/Havana")
    # 2023-11-05: at 01:00 CDT (-4) clocks go back to 00:00 CST (-5); midnight happens twice.
    assert day_start(date(2023, 11, 5), havana) == utc(2023, 11, 5, 4)
    second_midnight = utc(2023, 11, 5, 5)
    assert local_day(second_midnight, havana) == date(2023, 11, 5)
    start, end = local_day_bounds(second_midnight, havana)
    assert end - start == 25 * HOUR
    assert local_day(utc(2023, 11, 5, 4) - SECOND, havana) == date(2023, 11, 4)


def test_santiago_skipped_midnight_the_day_starts_at_the_first_instant_that_exists() -> None:
    santiago = ZoneInfo("America/Santiago")
    # 2023-09-03: at 00:00 (-4) clocks jump to 01:00 (-3); local 00:00-00:59 never happens.
    start = day_start(date(2023, 9, 3), santiago)
    assert start == utc(2023, 9, 3, 4)
    assert start.astimezone(santiago).replace(tzinfo=None) == datetime(2023, 9, 3, 1)
    assert local_day(start - SECOND, santiago) == date(2023, 9, 2)
    assert local_day_bounds(start - SECOND, santiago)[1] == start
    assert local_day_bounds(start, santiago) == (start, utc(2023, 9, 4, 3))


def test_goose_bay_the_repeated_late_hour_after_midnight_belongs_to_the_new_day() -> None:
    goose_bay = ZoneInfo("America/Goose_Bay")
    # 2009-11-01: at 00:01 ADT (-3) clocks went back to 23:01 AST (-4) on Oct 31.
    repeated = utc(2009, 11, 1, 3, 30)
    assert repeated.astimezone(goose_bay).date() == date(2009, 10, 31)
    assert local_day(repeated, goose_bay) == date(2009, 11, 1)
    assert day_start(date(2009, 11, 1), goose_bay) == utc(2009, 11, 1, 3)


@pytest.mark.parametrize(
    ("day", "length"),
    [(date(2023, 10, 1), 23 * HOUR + 30 * MINUTE), (date(2024, 4, 7), 24 * HOUR + 30 * MINUTE)],
)
def test_lord_howe_half_hour_dst_makes_days_of_23_and_a_half_and_24_and_a_half_hours(
    day: date, length: timedelta
) -> None:
    lord_howe = ZoneInfo("Australia/Lord_Howe")
    start, end = local_day_bounds(day_start(day, lord_howe), lord_howe)
    assert end - start == length


def test_a_kathmandu_window_past_midnight_runs_into_the_next_morning() -> None:
    kathmandu = ZoneInfo("Asia/Kathmandu")  # +05:45
    friday_night = [
        Window(4, parse_hhmm("22:00", allow_24=False), parse_hhmm("02:00", allow_24=True))
    ]
    saturday_0159 = utc(2024, 6, 14, 20, 14)
    assert saturday_0159.astimezone(kathmandu).strftime("%a %H:%M") == "Sat 01:59"
    assert in_window(saturday_0159, kathmandu, friday_night)
    assert not in_window(saturday_0159 + MINUTE, kathmandu, friday_night)
    assert not in_window(utc(2024, 6, 14, 16, 14), kathmandu, friday_night)  # Fri 21:59
    assert in_window(utc(2024, 6, 14, 16, 15), kathmandu, friday_night)  # Fri 22:00
    assert next_window_change(utc(2024, 6, 14, 16, 15), kathmandu, friday_night) == utc(
        2024, 6, 14, 20, 15
    )


def test_new_york_window_on_the_spring_forward_day_lasts_one_real_hour() -> None:
    new_york = ZoneInfo("America/New_York")
    sunday_1_to_3 = [Window(6, 60, 180)]  # 2024-03-10: 02:00 EST jumps to 03:00 EDT
    opens = utc(2024, 3, 10, 6)  # 01:00 EST
    assert in_window(opens, new_york, sunday_1_to_3)
    assert next_window_change(opens - SECOND, new_york, sunday_1_to_3) == opens
    assert next_window_change(opens, new_york, sunday_1_to_3) == opens + HOUR


def test_new_york_fall_back_repeated_time_is_inside_the_window_both_times() -> None:
    new_york = ZoneInfo("America/New_York")
    sunday_0115_to_0145 = [Window(6, 75, 105)]  # 2024-11-03: 02:00 EDT back to 01:00 EST
    first_0130, second_0130 = utc(2024, 11, 3, 5, 30), utc(2024, 11, 3, 6, 30)
    assert in_window(first_0130, new_york, sunday_0115_to_0145)
    assert in_window(second_0130, new_york, sunday_0115_to_0145)
    assert not in_window(utc(2024, 11, 3, 6), new_york, sunday_0115_to_0145)  # 01:00 EST
    assert next_window_change(first_0130, new_york, sunday_0115_to_0145) == utc(2024, 11, 3, 5, 45)
    assert next_window_change(utc(2024, 11, 3, 5, 45), new_york, sunday_0115_to_0145) == utc(
        2024, 11, 3, 6, 15
    )


def test_a_window_is_left_at_the_instant_clocks_fall_back_out_of_it() -> None:
    new_york = ZoneInfo("America/New_York")
    sunday_0130_to_0200 = [Window(6, 90, 120)]  # 01:59 EDT inside, then 01:00 EST not
    at = utc(2024, 11, 3, 5, 50)
    assert next_window_change(at, new_york, sunday_0130_to_0200) == utc(2024, 11, 3, 6)
    assert next_window_change(utc(2024, 11, 3, 6), new_york, sunday_0130_to_0200) == utc(
        2024, 11, 3, 6, 30
    )


def test_the_same_utc_instant_is_on_different_local_days_in_utc_plus_14_and_utc_minus_11() -> None:
    at = utc(2024, 6, 15, 10)
    assert local_day(at, ZoneInfo("Pacific/Kiritimati")) == date(2024, 6, 16)
    assert local_day(at, ZoneInfo("Pacific/Pago_Pago")) == date(2024, 6, 14)
    assert local_day(at, ZoneInfo("UTC")) == date(2024, 6, 15)


def test_a_local_month_ends_at_local_midnight_of_the_first_of_the_next_month() -> None:
    paris = ZoneInfo("Europe/Paris")
    last_second_of_march = utc(2024, 3, 31, 21, 59, 59)  # 23:59:59 CEST
    assert local_month(last_second_of_march, paris) == date(2024, 3, 1)
    assert local_month(last_second_of_march + SECOND, paris) == date(2024, 4, 1)
    start, end = local_month_bounds(last_second_of_march, paris)
    assert (start, end) == (utc(2024, 2, 29, 23), utc(2024, 3, 31, 22))
    assert end - start == 31 * DAY - HOUR


def test_a_local_month_in_december_ends_at_the_next_new_year() -> None:
    kiritimati = ZoneInfo("Pacific/Kiritimati")
    assert local_month_bounds(utc(2024, 12, 31, 9, 59), kiritimati) == (
        utc(2024, 11, 30, 10),
        utc(2024, 12, 31, 10),
    )


def test_a_window_ending_at_24_00_ends_at_the_next_midnight() -> None:
    monday_late = [
        Window(0, parse_hhmm("22:00", allow_24=False), parse_hhmm("24:00", allow_24=True))
    ]
    assert monday_late == [Window(0, 1320, 1440)]
    assert format_hhmm(1440) == "24:00"
    assert in_window(utc(2024, 6, 17, 23, 59), UTC_ZONE, monday_late)
    assert not in_window(utc(2024, 6, 18), UTC_ZONE, monday_late)
    assert next_window_change(utc(2024, 6, 17, 22), UTC_ZONE, monday_late) == utc(2024, 6, 18)


def test_no_windows_is_never_in_window_and_never_changes() -> None:
    assert not in_window(utc(2024, 6, 17), UTC_ZONE, [])
    assert next_window_change(utc(2024, 6, 17), UTC_ZONE, []) is None


def test_a_window_covering_the_whole_week_never_changes() -> None:
    always = [Window(day, 0, 1440) for day in range(7)]
    assert next_window_change(utc(2024, 6, 17), ZoneInfo("America/New_York"), always) is None


@pytest.mark.parametrize(
    "text",
    [
        "24:00",
        "23:60",
        "25:00",
        "7:00",
        "07:0",
        "0700",
        "07-00",
        " 7:00",
        "\u0660\u0667:\u0660\u0660",
        "",
    ],
)
def test_bad_times_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_hhmm(text, allow_24=False)


@pytest.mark.parametrize("text", ["24:01", "24:30", "25:00"])
def test_only_24_00_exactly_is_allowed_as_an_end(text: str) -> None:
    with pytest.raises(ValueError):
        parse_hhmm(text, allow_24=True)


@pytest.mark.parametrize(
    ("day_of_week", "start", "end"),
    [(0, 600, 600), (7, 0, 60), (-1, 0, 60), (0, 1440, 60), (0, 0, 0), (0, 0, 1441)],
)
def test_invalid_windows_are_refused(day_of_week: int, start: int, end: int) -> None:
    with pytest.raises(ValueError):
        Window(day_of_week, start, end)


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError):
        local_day(datetime(2024, 6, 17), UTC_ZONE)
    with pytest.raises(ValueError):
        in_window(datetime(2024, 6, 17), UTC_ZONE, [])


# Scheduled time: the exact arithmetic against counting minute by minute.


def brute_scheduled_minutes(
    start: datetime, end: datetime, tz: ZoneInfo, cells: set[tuple[int, int]]
) -> int:
    """Whole UTC minutes in [start, end) inside a window (start on a whole minute; since 1990
    every offset is whole minutes, so membership is constant within each such minute)."""
    count, step = 0, start
    while step < end:
        count += brute_in_window(step, tz, cells)
        step += MINUTE
    return count


@st.composite
def zone_span_schedule(draw: st.DrawFn) -> tuple[ZoneInfo, datetime, datetime, list[Window]]:
    """A span of up to three days on whole minutes, often across an offset change."""
    tz, at, schedule = draw(zone_instant_schedule())
    start = at.replace(second=0, microsecond=0) - draw(st.integers(0, 36 * 60)) * MINUTE
    return tz, start, start + draw(st.integers(0, 3 * 1440)) * MINUTE, schedule


@settings(PROPERTY_SETTINGS, max_examples=60)
@given(zone_span_schedule())
def test_scheduled_time_is_the_time_whose_wall_clock_is_inside_a_window(
    case: tuple[ZoneInfo, datetime, datetime, list[Window]],
) -> None:
    tz, start, end, schedule = case
    minutes = brute_scheduled_minutes(start, end, tz, covered_minutes(schedule))
    assert scheduled_time(start, end, tz, schedule, dayparting=True) == minutes * MINUTE
    assert scheduled_time(start, end, tz, schedule, dayparting=False) == end - start


@PROPERTY_SETTINGS
@given(zone_span_schedule(), st.integers(0, 3 * 86400 * 10**6))
def test_scheduled_time_adds_up_over_any_split_to_the_microsecond(
    case: tuple[ZoneInfo, datetime, datetime, list[Window]], split_us: int
) -> None:
    tz, start, end, schedule = case
    split = min(end, start + split_us * timedelta(microseconds=1))
    whole = scheduled_time(start, end, tz, schedule, dayparting=True)
    parts = scheduled_time(start, split, tz, schedule, True) + scheduled_time(
        split, end, tz, schedule, True
    )
    assert whole == parts


@PROPERTY_SETTINGS
@given(zone_span_schedule(), st.integers(0, 10**6), st.booleans())
def test_after_scheduled_time_is_the_first_instant_that_much_has_passed(
    case: tuple[ZoneInfo, datetime, datetime, list[Window]], per_million: int, dayparting: bool
) -> None:
    tz, start, until, schedule = case
    available = scheduled_time(start, until, tz, schedule, dayparting)
    amount = available * per_million // 10**6
    reached = after_scheduled_time(start, amount, tz, schedule, dayparting, until=until)
    assert reached is not None
    assert start <= reached <= until
    assert scheduled_time(start, reached, tz, schedule, dayparting) == amount
    if amount:
        earlier = reached - timedelta(microseconds=1)
        assert scheduled_time(start, earlier, tz, schedule, dayparting) < amount
    more = available + timedelta(microseconds=1)
    assert after_scheduled_time(start, more, tz, schedule, dayparting, until=until) is None


@named_zones
@settings(PROPERTY_SETTINGS, max_examples=15)
@given(data=st.data())
def test_a_days_scheduled_time_is_its_length_or_its_windows_minutes(
    tz: ZoneInfo, data: st.DataObject
) -> None:
    at = data.draw(instants(tz))
    schedule = data.draw(schedules(tz, at))
    day = local_day(at, tz)
    start, end = local_day_bounds(at, tz)
    assert day_scheduled_time(day, tz, schedule, dayparting=False) == end - start
    minutes = brute_scheduled_minutes(start, end, tz, covered_minutes(schedule))
    assert day_scheduled_time(day, tz, schedule, dayparting=True) == minutes * MINUTE


@pytest.mark.parametrize(
    ("zone", "day", "length"),
    [
        ("America/New_York", date(2024, 3, 10), 23 * HOUR),
        ("America/New_York", date(2024, 11, 3), 25 * HOUR),
        ("America/New_York", date(2024, 6, 9), 24 * HOUR),
        ("Australia/Lord_Howe", date(2023, 10, 1), 23 * HOUR + 30 * MINUTE),
        ("America/Santiago", date(2023, 9, 3), 23 * HOUR),  # midnight itself is skipped
        ("Pacific/Apia", date(2011, 12, 30), timedelta(0)),  # the whole day was skipped
    ],
)
def test_a_local_day_without_dayparting_is_scheduled_all_its_length(
    zone: str, day: date, length: timedelta
) -> None:
    assert day_scheduled_time(day, ZoneInfo(zone), [], dayparting=False) == length


def test_a_window_across_the_skipped_hour_is_scheduled_for_one_real_hour() -> None:
    new_york = ZoneInfo("America/New_York")
    sunday_1_to_3 = [Window(6, 60, 180)]
    assert day_scheduled_time(date(2024, 3, 10), new_york, sunday_1_to_3, True) == HOUR


def test_a_window_over_the_repeated_hour_is_scheduled_both_times() -> None:
    new_york = ZoneInfo("America/New_York")
    sunday_1_to_2 = [Window(6, 60, 120)]
    assert day_scheduled_time(date(2024, 11, 3), new_york, sunday_1_to_2, True) == 2 * HOUR


def test_a_sunday_window_past_midnight_is_scheduled_into_monday() -> None:
    sunday_night = [Window(6, 22 * 60, 2 * 60)]
    assert day_scheduled_time(date(2024, 6, 16), UTC_ZONE, sunday_night, True) == 2 * HOUR
    assert day_scheduled_time(date(2024, 6, 17), UTC_ZONE, sunday_night, True) == 2 * HOUR
    assert day_scheduled_time(date(2024, 6, 18), UTC_ZONE, sunday_night, True) == timedelta(0)


def test_overlapping_windows_are_scheduled_once() -> None:
    overlapping = [Window(0, 60, 180), Window(0, 120, 240), Window(0, 0, 1440)]
    assert day_scheduled_time(date(2024, 6, 17), UTC_ZONE, overlapping, True) == 24 * HOUR


def test_without_windows_nothing_is_scheduled_and_nothing_is_ever_reached() -> None:
    start, until = utc(2024, 6, 17), utc(2024, 6, 30)
    assert scheduled_time(start, until, UTC_ZONE, [], dayparting=True) == timedelta(0)
    assert after_scheduled_time(start, MINUTE, UTC_ZONE, [], True, until=until) is None


def test_an_amount_beyond_the_calendar_is_simply_not_reached() -> None:
    start, until = utc(2024, 6, 17), utc(2024, 6, 18)
    for dayparting in (False, True):
        forever = timedelta.max
        assert after_scheduled_time(start, forever, UTC_ZONE, [], dayparting, until=until) is None


def test_scheduled_time_waits_for_the_next_window_across_a_gap() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    monday = [Window(0, 9 * 60, 12 * 60), Window(0, 13 * 60, 18 * 60)]
    eleven = utc(2024, 6, 17, 9)  # 11:00 CEST
    until = utc(2024, 6, 17, 22)
    four_and_a_half_hours = 4 * HOUR + 30 * MINUTE
    reached = after_scheduled_time(eleven, four_and_a_half_hours, berlin, monday, True, until=until)
    assert reached == utc(2024, 6, 17, 14, 30)  # an hour until noon, 3.5 from 13:00: 16:30 CEST

"""Flights: a lifetime budget over a range of the brand's local days, paced as fast as it goes
("asap") or evenly ("even"), and the forecast of when today's rate uses up a daily cap.

Even pacing shares what is left of the lifetime budget over the flight's remaining days in
proportion to each day's scheduled time (`clock.scheduled_time`: 23 or 25 hours on DST days, the
windows' time with dayparting), so a flight paces around its dayparting. Pure: the caller passes
the instant and the spend sums; no ORM, no I/O, no "now". Money is `Decimal`; shares of time are
exact fractions of microseconds, so no float and no rounding happens before the final cent.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

from campaigns import clock

ASAP = "asap"
EVEN = "even"
PACINGS = (ASAP, EVEN)

FLIGHT = "flight"
CAMPAIGN_LIFETIME_BUDGET = "campaign_lifetime_budget"
PACING = "pacing"

ON_PACE = "on_pace"
BEHIND = "behind"
AHEAD = "ahead"
# How far spend may stray from the expected line and still be on pace, as a share of it: wide
# while little has been spent (a single spend moves the ratio a lot), tight near the end.
BAND_AT_START = Fraction(1, 4)
BAND_AT_END = Fraction(1, 100)

DAY = timedelta(days=1)
_US = timedelta(microseconds=1)
_ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Flight:
    """A campaign's dates (the brand's local days, both inclusive), lifetime budget and pacing."""

    start_date: date
    end_date: date
    lifetime_budget: Decimal | None
    pacing: str = ASAP

    def __post_init__(self) -> None:
        if self.end_date < self.start_date:
            raise ValueError("a flight cannot end before it starts")
        if self.pacing not in PACINGS:
            raise ValueError(f"pacing must be one of {PACINGS}")
        if self.pacing == EVEN and self.lifetime_budget is None:
            raise ValueError("even pacing needs a lifetime budget")


def flight_bounds(flight: Flight, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) in UTC: from the start date's local midnight to the one after the end date."""
    return clock.day_start(flight.start_date, tz), clock.day_start(flight.end_date + DAY, tz)


def _micros(
    start: datetime, end: datetime, tz: ZoneInfo, windows: Sequence[clock.Window], dayparting: bool
) -> int:
    return clock.scheduled_time(start, end, tz, windows, dayparting) // _US


def _cents(amount: Fraction, *, floor: bool = False) -> Decimal:
    """Exactly rounded to cents: down with `floor`, else half to even."""
    cents = math.floor(amount * 100) if floor else round(amount * 100)
    return Decimal(cents).scaleb(-2)


def _rounded(amount: Fraction, places: int) -> Decimal:
    return Decimal(round(amount * 10**places)).scaleb(-places)


# Even pacing: the day's allowance.


def daily_allowance(
    day: date,
    flight: Flight,
    tz: ZoneInfo,
    windows: Sequence[clock.Window],
    dayparting: bool,
    spent_before_day: Decimal,
) -> Decimal:
    """What the flight may spend on `day` under even pacing.

    The lifetime budget left when the day begins (`spent_before_day`: the flight's spend before
    the day's local midnight), shared over the flight's remaining days, the day included, in
    proportion to each day's scheduled time. Rounded DOWN to the cent, so a day never gets more
    than its exact share and what is left never goes below zero; the fractions of a cent stay in
    the budget and are shared again the next day. The last day with scheduled time takes all
    that is left (unrounded), so spending exactly each allowance spends the lifetime budget to
    the cent. A day without scheduled time, a day outside the flight, and an overspent flight
    get 0.
    """
    if flight.lifetime_budget is None:
        raise ValueError("an allowance needs a lifetime budget")
    if not flight.start_date <= day <= flight.end_date:
        return _ZERO
    day_begins, day_ends = clock.day_start(day, tz), clock.day_start(day + DAY, tz)
    today = _micros(day_begins, day_ends, tz, windows, dayparting)
    if today == 0:
        return _ZERO
    later = _micros(day_ends, flight_bounds(flight, tz)[1], tz, windows, dayparting)
    left = max(_ZERO, flight.lifetime_budget - spent_before_day)
    if later == 0:
        return left
    return _cents(Fraction(left) * today / (today + later), floor=True)


def allowance_at(
    at: datetime,
    flight: Flight,
    tz: ZoneInfo,
    windows: Sequence[clock.Window],
    dayparting: bool,
    spent_before_today: Decimal,
) -> Decimal | None:
    """Today's allowance (the local day of `at`): None unless the flight paces evenly and `at`
    is inside it. `spent_before_today` is the flight's spend before today's local midnight."""
    begins, ends = flight_bounds(flight, tz)
    if flight.pacing != EVEN or not begins <= at < ends:
        return None
    return daily_allowance(
        clock.local_day(at, tz), flight, tz, windows, dayparting, spent_before_today
    )


# Reasons.


def outside_flight(at: datetime, flight: Flight, tz: ZoneInfo) -> bool:
    """Before its start date's local midnight or from the one after its end date: reason flight."""
    begins, ends = flight_bounds(flight, tz)
    return not begins <= at < ends


def lifetime_budget_reached(lifetime_budget: Decimal | None, spent: Decimal) -> bool:
    """`spent` is the spend in the flight (all the campaign's spend when it has no dates); a
    lifetime budget of 0 is reached from the start, as every budget here."""
    return lifetime_budget is not None and spent >= lifetime_budget


def pacing_reached(allowance: Decimal | None, spent_today: Decimal) -> bool:
    """Even pacing holds the campaign once today's spend reaches today's allowance (None: none)."""
    return allowance is not None and spent_today >= allowance


def flight_reasons(
    at: datetime,
    tz: ZoneInfo,
    *,
    flight: Flight | None,
    lifetime_budget: Decimal | None,
    lifetime_spend: Decimal,
    spent_today: Decimal,
    allowance: Decimal | None,
) -> set[str]:
    """The reasons among flight, campaign_lifetime_budget and pacing that hold at `at`.

    `lifetime_budget` is passed apart from the flight because a campaign without dates may still
    have one; `lifetime_spend` is the spend in the flight, or all spend without dates;
    `allowance` is `allowance_at(...)` (None outside the flight or without even pacing).
    """
    reasons = set()
    if flight is not None and outside_flight(at, flight, tz):
        reasons.add(FLIGHT)
    if lifetime_budget_reached(lifetime_budget, lifetime_spend):
        reasons.add(CAMPAIGN_LIFETIME_BUDGET)
    if pacing_reached(allowance, spent_today):
        reasons.add(PACING)
    return reasons


# The pace of a flight at an instant.


@dataclass(frozen=True)
class Pace:
    """Spend in the flight against the line the lifetime budget would follow if spent evenly.

    `expected` and `projected_total` are rounded half to even to cents, `ratio` and `band` to
    four places, for output only: `state` is decided on the exact values.
    """

    expected: Decimal | None  # None without a lifetime budget
    ratio: Decimal | None  # spent / expected; None while expected is 0
    state: str | None  # on_pace, behind, ahead; None without a budget or before the start
    projected_total: Decimal | None  # spent / share passed; None while no scheduled time passed
    band: Decimal  # the tolerance of |ratio - 1| at `at`


def _state(spent: Fraction, expected: Fraction, band: Fraction) -> str:
    if expected == 0:
        # Nothing is expected yet (the first instant, or a budget of 0): any spend is early.
        return AHEAD if spent > 0 else ON_PACE
    ratio = spent / expected
    if abs(ratio - 1) <= band:
        return ON_PACE
    return BEHIND if ratio < 1 else AHEAD


def pace(
    at: datetime,
    flight: Flight,
    tz: ZoneInfo,
    windows: Sequence[clock.Window],
    dayparting: bool,
    spent: Decimal,
) -> Pace:
    """How the flight's spend up to `at` compares with even spending of its lifetime budget.

    The share passed is the flight's scheduled time before `at` over all its scheduled time (0
    before the start and when the flight has no scheduled time at all, 1 from its end). The band
    narrows linearly IN THAT SHARE, from 0.25 to 0.01: progress is measured the way the
    expected line is, so with dayparting the band does not narrow overnight while nothing may
    be spent, and on a 23-hour DST day it narrows as fast as the line rises.
    """
    begins, ends = flight_bounds(flight, tz)
    total = _micros(begins, ends, tz, windows, dayparting)
    passed = _micros(begins, min(max(at, begins), ends), tz, windows, dayparting)
    share = Fraction(passed, total) if total else Fraction(0)
    band = BAND_AT_START - (BAND_AT_START - BAND_AT_END) * share
    exact_spent = Fraction(spent)
    projected = _cents(exact_spent / share) if share else None
    if flight.lifetime_budget is None:
        return Pace(None, None, None, projected, _rounded(band, 4))
    expected = Fraction(flight.lifetime_budget) * share
    return Pace(
        expected=_cents(expected),
        ratio=_rounded(exact_spent / expected, 4) if expected else None,
        state=None if at < begins else _state(exact_spent, expected, band),
        projected_total=projected,
        band=_rounded(band, 4),
    )


# When today's rate uses up a daily cap.


def run_out_at(
    at: datetime,
    tz: ZoneInfo,
    day_bounds: tuple[datetime, datetime],
    cap: Decimal | None,
    spent_today: Decimal,
    windows: Sequence[clock.Window],
    dayparting: bool,
) -> datetime | None:
    """When spend at today's rate so far reaches `cap`, in the brand's zone, or None.

    The rate is today's spend over the time since the local day began (`day_bounds`, from
    `clock.local_day_bounds(at, tz)`); with dayparting over the scheduled time that has passed,
    and the spend to come accrues only in scheduled time. None without a cap, without spend yet
    or before any time has passed (no rate), once the cap is used up, and when the cap would not
    be reached before the local day ends. Rounded up to the whole second: it is an estimate.
    """
    if cap is None or spent_today <= 0 or spent_today >= cap:
        return None
    day_begins, day_ends = day_bounds
    elapsed = _micros(day_begins, at, tz, windows, dayparting)
    if elapsed == 0:
        return None
    needed = math.ceil(Fraction(cap - spent_today) * elapsed / Fraction(spent_today))
    # Compared in microseconds first: a slow rate may need more time than a timedelta holds.
    if needed > _micros(at, day_ends, tz, windows, dayparting):
        return None
    reached = clock.after_scheduled_time(at, needed * _US, tz, windows, dayparting, until=day_ends)
    if reached is None:
        return None
    whole_second = reached + (-reached.microsecond % 10**6) * _US
    return whole_second.astimezone(tz) if whole_second < day_ends else None


# When to look again.


def next_change_at(
    at: datetime, tz: ZoneInfo, windows: Sequence[clock.Window], dayparting: bool
) -> datetime:
    """The first instant after `at` at which the evaluation can change without new spend.

    Time alone changes it only where a local day begins (the daily reset, the day's new
    allowance, and, because both are local midnights, a month's start and a flight's start and
    end) or, with dayparting, where the campaign enters or leaves a window.
    """
    midnight = clock.day_start(clock.local_day(at, tz) + DAY, tz)
    flip = clock.next_window_change(at, tz, windows) if dayparting else None
    return midnight if flip is None else min(midnight, flip)

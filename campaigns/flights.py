"""A campaign's flight figures and the run-out forecast, as the status endpoint and the
dashboard show them: pure over a `selectors.Snapshot` (which already holds the flight, the
spend in it, the windows and today's spend), so they cost no query of their own whatever the
number of campaigns. The decisions are `pacing`'s; this module only picks their inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

from campaigns import clock, pacing, rules
from campaigns.selectors import Snapshot

_US = timedelta(microseconds=1)


@dataclass(frozen=True)
class FlightFigures:
    """`evaluation.flight`: the flight, its spend and what is left, today's allowance (even
    pacing only) and the pace against the expected line."""

    flight: pacing.Flight
    spent: Decimal
    remaining: Decimal | None  # None without a lifetime budget; never below 0
    allowance_today: Decimal | None
    pace: pacing.Pace


@dataclass(frozen=True)
class Forecast:
    """`evaluation.forecast`: when today's rate so far reaches each daily cap (None: not today,
    no cap, no rate yet, or already used up)."""

    campaign_daily: datetime | None
    brand_daily: datetime | None


def flight_figures(snap: Snapshot, campaign_id: int) -> FlightFigures | None:
    """None for a campaign without dates (a lifetime budget alone has no flight to pace)."""
    state = snap.campaigns[campaign_id]
    lifetime = state.lifetime
    if lifetime.flight is None:
        return None
    return FlightFigures(
        flight=lifetime.flight,
        spent=lifetime.spent,
        remaining=rules.remaining(lifetime.budget, lifetime.spent),
        allowance_today=pacing.allowance_at(snap.at, lifetime.flight, state.tz, state.windows,
                                            state.dayparting, lifetime.spent_before_today),
        pace=pacing.pace(snap.at, lifetime.flight, state.tz, state.windows, state.dayparting,
                         lifetime.spent),
    )


def brand_run_out_at(at: datetime, tz: ZoneInfo, daily_cap: Decimal | None,
                     spent_today: Decimal) -> datetime | None:
    """A brand has no schedule of its own: its rate is over all the time since its day began."""
    return pacing.run_out_at(at, tz, clock.local_day_bounds(at, tz), daily_cap, spent_today,
                             (), False)


def forecast(snap: Snapshot, campaign_id: int) -> Forecast:
    state = snap.campaigns[campaign_id]
    brand = snap.brands[state.brand_id]
    return Forecast(
        campaign_daily=pacing.run_out_at(
            snap.at, state.tz, clock.local_day_bounds(snap.at, state.tz),
            state.campaign_caps.daily, state.today, state.windows, state.dayparting),
        brand_daily=brand_run_out_at(snap.at, state.tz, state.brand_caps.daily, brand.today),
    )


def scheduled_shares(flight: pacing.Flight, tz: ZoneInfo, windows: Sequence[clock.Window],
                     dayparting: bool) -> list[Fraction]:
    """The share of the flight's scheduled time passed at the end of each of its days, as
    `pacing.pace` measures it (for drawing its expected line): one day's time at a time, so a
    long flight costs its length once, not once per day."""
    days = (flight.end_date - flight.start_date).days + 1
    per_day = [clock.day_scheduled_time(flight.start_date + timedelta(days=i), tz, windows,
                                        dayparting) for i in range(days)]
    total = sum(per_day, timedelta(0))
    if not total:
        return [Fraction(0)] * days
    passed, shares = timedelta(0), []
    for time in per_day:
        passed += time
        shares.append(Fraction(passed // _US, total // _US))
    return shares


def days_into(at: datetime, flight: pacing.Flight, tz: ZoneInfo) -> float | None:
    """Where `at` is in the flight, in days from its start (2.5: noon of the third day, by real
    time within that day); None outside the flight."""
    if pacing.outside_flight(at, flight, tz):
        return None
    day = clock.local_day(at, tz)
    begins, ends = clock.local_day_bounds(at, tz)
    return (day - flight.start_date).days + (at - begins) / (ends - begins)

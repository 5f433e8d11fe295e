"""Charts drawn on the server as inline SVG: no JavaScript, no library, no CDN.

This module computes the geometry; the template only places the shapes. Money stays Decimal
until it becomes a pixel coordinate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from dashboard.display import DAY_NAMES, money

WIDTH = 760
HEIGHT = 240
LEFT = 64  # room for the value labels
RIGHT = 12
TOP = 14
BOTTOM = 28  # room for the day labels
PLOT_WIDTH = WIDTH - LEFT - RIGHT
PLOT_HEIGHT = HEIGHT - TOP - BOTTOM
TICKS = 4


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    title: str  # the tooltip: day and amount
    level: str  # "ok", "full" (the day reached the cap) or "today"


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class DayLabel:
    x: float
    label: str


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    left: int
    right_edge: int
    baseline: float
    bars: list[Bar]
    ticks: list[Tick]
    days: list[DayLabel]
    cap_y: float | None
    cap_label: str
    empty: bool


def nice_ceiling(value: Decimal) -> Decimal:
    """The smallest of 1, 2, 2.5, 5 x 10^n that is >= value: round axis ends."""
    if value <= 0:
        return Decimal(1)
    exponent = value.adjusted()
    for step in (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10)):
        candidate = step.scaleb(exponent)
        if candidate >= value:
            return candidate
    return Decimal(10).scaleb(exponent)  # pragma: no cover - the loop always returns


def bar_chart(
    days: Sequence[date], spend: Mapping[date, Decimal], *, cap: Decimal | None, today: date
) -> BarChart:
    """One bar per local day; a dashed line at the daily cap when there is one."""
    top_value = max([spend.get(day, Decimal(0)) for day in days] + [cap or Decimal(0)])
    scale_max = nice_ceiling(top_value * Decimal("1.05"))
    slot = PLOT_WIDTH / len(days)
    baseline = TOP + PLOT_HEIGHT

    def y_of(amount: Decimal) -> float:
        return round(baseline - float(amount / scale_max) * PLOT_HEIGHT, 2)

    bars = []
    for index, day in enumerate(days):
        amount = spend.get(day, Decimal(0))
        y = y_of(amount)
        level = "today" if day == today else "full" if cap is not None and amount >= cap else "ok"
        bars.append(Bar(
            x=round(LEFT + index * slot + slot * 0.15, 2), y=y, width=round(slot * 0.7, 2),
            height=round(baseline - y, 2), level=level,
            title=f"{DAY_NAMES[day.weekday()]} {day.day} {day:%b}: {money(amount)}",
        ))
    ticks = [Tick(y=y_of(scale_max * i / TICKS), label=_axis_label(scale_max * i / TICKS))
             for i in range(TICKS + 1)]
    labels = [
        DayLabel(x=round(LEFT + index * slot + slot / 2, 2), label=f"{day.day} {day:%b}")
        for index, day in enumerate(days)
        if (len(days) - 1 - index) % 5 == 0
    ]
    return BarChart(
        width=WIDTH, height=HEIGHT, left=LEFT, right_edge=WIDTH - RIGHT, baseline=baseline,
        bars=bars, ticks=ticks, days=labels,
        cap_y=y_of(cap) if cap is not None else None,
        cap_label=f"Daily cap {money(cap)}" if cap is not None else "",
        empty=not any(spend.get(day) for day in days),
    )


def _axis_label(amount: Decimal) -> str:
    """Short axis text: 1,250 / 12.5k / 1.2M."""
    if amount >= 1_000_000:
        return f"{(amount / 1_000_000).normalize():f}M"
    if amount >= 10_000:
        return f"{(amount / 1000).normalize():f}k"
    if amount == amount.to_integral_value():
        return f"{int(amount):,}"
    return f"{amount.quantize(Decimal('0.01')):,}"


# A flight's pace: cumulative spend against the expected line, with the on-pace band.


@dataclass(frozen=True)
class PaceChart:
    width: int
    height: int
    left: int
    right_edge: int
    baseline: float
    band: str  # polygon points: the band's upper edge, then its lower edge back
    expected: str  # polyline points of the expected line
    spent: str  # polyline points of cumulative spend, up to `at`
    now_x: float | None  # where `at` is, inside the flight
    now_y: float | None
    ticks: list[Tick]
    days: list[DayLabel]
    title: str


def pace_chart(
    flight_days: Sequence[date],
    share_at_day_end: Sequence[float],
    cumulative: Sequence[Decimal],
    *,
    lifetime_budget: Decimal,
    now_position: float | None,
    spent_now: Decimal,
) -> PaceChart:
    """The flight's days on x (day boundaries: the last day ends at the right edge), money on y.

    `share_at_day_end[i]` is the share of the flight's scheduled time passed when day i ends
    (`campaigns.flights.scheduled_shares`): the expected line is the lifetime budget times it,
    and the band around it narrows with it from 25 % to 1 %, as `pacing.pace` decides.
    `cumulative[i]` is the spend up to the end of day i, for the days already over; the spend
    line then goes on to `now_position` (days since the start, None outside the flight) at the
    spend so far. For the picture only: floats from here on, the figures stay Decimal.
    """
    count = len(flight_days)
    top_value = max([lifetime_budget * Decimal("1.25"), spent_now, *cumulative])
    scale_max = nice_ceiling(top_value * Decimal("1.02"))
    baseline = TOP + PLOT_HEIGHT

    def x_of(boundary: float) -> float:
        return round(LEFT + PLOT_WIDTH * boundary / count, 2)

    def y_of(amount: float | Decimal) -> float:
        return round(baseline - float(amount) / float(scale_max) * PLOT_HEIGHT, 2)

    budget = float(lifetime_budget)
    shares = [0.0, *share_at_day_end]
    bands = [0.25 - 0.24 * share for share in shares]
    expected = [(x_of(i), y_of(budget * share)) for i, share in enumerate(shares)]
    upper = [(x_of(i), y_of(budget * share * (1 + band)))
             for i, (share, band) in enumerate(zip(shares, bands, strict=True))]
    lower = [(x_of(i), y_of(budget * share * (1 - band)))
             for i, (share, band) in enumerate(zip(shares, bands, strict=True))]
    spent_points = [(x_of(0), y_of(0))] + [
        (x_of(i + 1), y_of(amount)) for i, amount in enumerate(cumulative)]
    now_x = now_y = None
    if now_position is not None:
        now_x, now_y = x_of(now_position), y_of(spent_now)
        spent_points.append((now_x, now_y))
    ticks = [Tick(y=y_of(scale_max * i / TICKS), label=_axis_label(scale_max * i / TICKS))
             for i in range(TICKS + 1)]
    step = max(1, round(count / 8))
    labels = [DayLabel(x=x_of(i + 0.5), label=f"{day.day} {day:%b}")
              for i, day in enumerate(flight_days) if i % step == 0 or i == count - 1]
    return PaceChart(
        width=WIDTH, height=HEIGHT, left=LEFT, right_edge=WIDTH - RIGHT, baseline=baseline,
        band=_points(upper + lower[::-1]), expected=_points(expected),
        spent=_points(spent_points), now_x=now_x, now_y=now_y, ticks=ticks, days=labels,
        title=f"Spend in the flight against the expected line to {money(lifetime_budget)}",
    )


def _points(points: Sequence[tuple[float, float]]) -> str:
    return " ".join(f"{x},{y}" for x, y in points)

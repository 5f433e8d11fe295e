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

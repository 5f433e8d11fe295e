"""What the pages show, in words and shapes: budget gauges, pause reasons, and the next change.

Everything here is computed from one `selectors.snapshot` and the rows the view already read, so a
page costs a fixed number of queries however many campaigns the agency runs. Pure: no ORM, no
"now"; the view passes the instant `at`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from campaigns import clock, pacing, rules

REASON_TEXT = {
    rules.MANUAL: "Paused by you",
    rules.CAMPAIGN_DAILY_BUDGET: "Daily budget of the campaign used up",
    rules.CAMPAIGN_MONTHLY_BUDGET: "Monthly budget of the campaign used up",
    rules.BRAND_DAILY_BUDGET: "Daily budget of the brand used up",
    rules.BRAND_MONTHLY_BUDGET: "Monthly budget of the brand used up",
    rules.DAYPARTING: "Outside its dayparting hours",
    rules.CAMPAIGN_LIFETIME_BUDGET: "Lifetime budget of the campaign used up",
    rules.FLIGHT: "Outside its flight dates",
    rules.PACING: "Today's share of the flight spent (even pacing)",
}
CAUSE_TEXT = {
    "spend": "A spend",
    "job": "Scheduled check",
    "manual": "You",
    "edit": "An edit",
}
DAILY_REASONS = frozenset({rules.CAMPAIGN_DAILY_BUDGET, rules.BRAND_DAILY_BUDGET})
MONTHLY_REASONS = frozenset({rules.CAMPAIGN_MONTHLY_BUDGET, rules.BRAND_MONTHLY_BUDGET})
WARN_PERCENT = 80
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
EN_DASH = "\u2013"  # typographic ranges: "Mon-Fri" reads as a range only with the dash


def reasons_in_words(reasons: Iterable[str]) -> list[str]:
    """The reasons in their documented order, as a person would say them."""
    wanted = set(reasons)
    return [REASON_TEXT.get(r, r) for r in rules.REASONS_ORDER if r in wanted]


def money(amount: Decimal | None) -> str:
    """Two decimals with thousands separators; amounts are Decimal, never float."""
    if amount is None:
        return ""
    return f"{amount.quantize(Decimal('0.01')):,}"


@dataclass(frozen=True)
class Gauge:
    """Spend against a cap, drawn as a bar. `cap` None: no cap, so nothing to fill."""

    spent: Decimal
    cap: Decimal | None
    currency: str

    @property
    def remaining(self) -> Decimal | None:
        return rules.remaining(self.cap, self.spent)

    @property
    def used_up(self) -> bool:
        return rules.is_used_up(self.cap, self.spent)

    @property
    def percent(self) -> int:
        """How full the bar is, 0-100 (a cap of 0 is full: it never runs)."""
        if self.cap is None:
            return 0
        if self.used_up:
            return 100
        return min(100, int(self.spent * 100 / self.cap))

    @property
    def level(self) -> str:
        """`none` (no cap), `ok`, `warn` (>= 80 %) or `full` (used up): the bar's colour."""
        if self.cap is None:
            return "none"
        if self.used_up:
            return "full"
        return "warn" if self.percent >= WARN_PERCENT else "ok"

    @property
    def spent_text(self) -> str:
        return money(self.spent)

    @property
    def cap_text(self) -> str:
        return money(self.cap)

    @property
    def remaining_text(self) -> str:
        return money(self.remaining)


@dataclass(frozen=True)
class Change:
    """The next expected status change of a campaign, for the "Next change" column."""

    verb: str  # "Resumes" / "Pauses" / a whole sentence when `at` is None
    at: datetime | None = None
    tz: ZoneInfo | None = None
    now: datetime | None = None
    note: str = ""

    @property
    def clock_text(self) -> str:
        """"00:00 Europe/Paris": the wall clock where the brand is."""
        if self.at is None or self.tz is None:
            return ""
        return f"{self.at.astimezone(self.tz):%H:%M} {self.tz.key}"

    @property
    def day_text(self) -> str:
        """"today", "tomorrow" or "Mon 1 Dec", by the brand's calendar."""
        if self.at is None or self.tz is None or self.now is None:
            return ""
        return relative_day(self.at, self.now, self.tz)

    @property
    def in_text(self) -> str:
        if self.at is None or self.now is None:
            return ""
        return "in " + duration_text(self.at - self.now)

    @property
    def sentence(self) -> str:
        if self.at is None:
            return self.verb
        return f"{self.verb} at {self.clock_text}"


def relative_day(instant: datetime, now: datetime, tz: ZoneInfo) -> str:
    day, today = instant.astimezone(tz).date(), now.astimezone(tz).date()
    if day == today:
        return "today"
    if day == today + timedelta(days=1):
        return "tomorrow"
    return f"{DAY_NAMES[day.weekday()]} {day.day} {day:%b}"


def duration_text(delta: timedelta) -> str:
    """"3 h 05 min", "12 min", "under a minute": how long until a change."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return "under a minute"
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min"


def next_change(
    at: datetime,
    *,
    tz: ZoneInfo,
    stored_paused: bool,
    evaluation: rules.Evaluation,
    dayparting: bool,
    windows: Sequence[clock.Window],
    flight: pacing.Flight | None = None,
) -> Change | None:
    """When the campaign is expected to change status next, from the rules' view at `at`.

    A paused campaign resumes when every reason has lifted: budget reasons at the start of the
    brand's next local day (month), dayparting at the next window start after that. Manual
    pauses lift only when the user resumes. An active dayparted campaign pauses when its window
    closes; budgets cannot be foreseen. Where the stored status lags the rules (the jobs run every
    minute), the change is due within a minute.
    """
    reasons = evaluation.reasons
    if stored_paused and not reasons:
        return Change("Resumes within a minute")
    if not stored_paused and reasons:
        return Change("Pauses within a minute")
    if not reasons:
        if dayparting and windows:
            closes = clock.next_window_change(at, tz, windows)
            if closes is not None:
                return Change("Pauses", closes, tz, at, note="when its window ends")
        return None
    if rules.MANUAL in reasons:
        return Change("Stays paused until you resume it")
    if rules.CAMPAIGN_LIFETIME_BUDGET in reasons:
        return Change("Stays paused: its lifetime budget is spent")
    lifts = _budget_lift(at, tz, reasons)
    if rules.FLIGHT in reasons and flight is not None:
        begins, ends = pacing.flight_bounds(flight, tz)
        if at >= ends:
            return Change("Stays paused: its flight has ended")
        lifts = max(lifts, begins)
    if dayparting:
        if not windows:
            return Change("No dayparting hours are set")
        if not clock.in_window(lifts, tz, windows):
            opens = clock.next_window_change(lifts, tz, windows)
            if opens is None:
                return None
            return Change("Resumes", opens, tz, at, note="when its window opens")
    note = "new month" if reasons & MONTHLY_REASONS else "new day"
    if flight is not None and rules.FLIGHT in reasons and lifts == pacing.flight_bounds(
            flight, tz)[0]:
        note = "its flight starts"
    return Change("Resumes", lifts, tz, at, note=note)


def _budget_lift(at: datetime, tz: ZoneInfo, reasons: frozenset[str]) -> datetime:
    """The first instant without the budget reasons: the next local day or month start."""
    if reasons & MONTHLY_REASONS:
        return clock.local_month_bounds(at, tz)[1]
    if reasons & (DAILY_REASONS | {rules.PACING}):  # the next day brings a new allowance
        return clock.local_day_bounds(at, tz)[1]
    return at


def local_time_text(at: datetime, tz: ZoneInfo) -> str:
    """"14:32 · Tue 25 Nov": the brand's wall clock and day."""
    local = at.astimezone(tz)
    return f"{local:%H:%M} · {DAY_NAMES[local.weekday()]} {local.day} {local:%b}"


def utc_offset_text(at: datetime, tz: ZoneInfo) -> str:
    offset = at.astimezone(tz).utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def schedule_text(windows: Sequence[clock.Window]) -> list[str]:
    """Windows grouped by hours: "Mon-Fri 06:00-10:00", "Every day 17:00-21:00" (en dashes)."""
    by_hours: dict[tuple[int, int], list[int]] = {}
    for window in windows:
        by_hours.setdefault((window.start, window.end), []).append(window.day_of_week)
    lines = []
    for (start, end), days in sorted(by_hours.items()):
        hours = f"{clock.format_hhmm(start)}{EN_DASH}{clock.format_hhmm(end)}"
        lines.append(f"{_days_text(sorted(set(days)))} {hours}")
    return lines


def _days_text(days: list[int]) -> str:
    if len(days) == 7:
        return "Every day"
    if len(days) > 2 and days == list(range(days[0], days[-1] + 1)):
        return f"{DAY_NAMES[days[0]]}{EN_DASH}{DAY_NAMES[days[-1]]}"
    return ", ".join(DAY_NAMES[d] for d in days)


def forecast_text(run_out: datetime | None, tz: ZoneInfo, cap: Decimal | None,
                  spent: Decimal) -> str | None:
    """"At this rate: used up around 15:40", the brand's wall clock; None without a cap or
    once it is used up (the gauge says so)."""
    if cap is None or spent >= cap:
        return None
    if run_out is None:
        return "At this rate: lasts the day"
    return f"At this rate: used up around {run_out.astimezone(tz):%H:%M}"


PACE_TEXT = {"on_pace": "On pace", "behind": "Behind pace", "ahead": "Ahead of pace"}


def date_range_text(first: date, last: date) -> str:
    """"28 Nov - 7 Dec 2026" (an en dash), both days inclusive; a first year only if it differs."""
    year = f" {first.year}" if first.year != last.year else ""
    return f"{first.day} {first:%b}{year} {EN_DASH} {last.day} {last:%b %Y}"

"""Local days, months and weekly windows of a brand's time zone, exact across DST changes.

Budgets reset when the brand's local day (month) begins and dayparting follows the brand's wall
clock, so both are defined here once. Everything works on aware instants and compares instants:
a local time is never built by adding hours, because DST changes make days 23, 24.5 or 25 hours
long and can skip or repeat midnight itself. Pure: no I/O, no "now".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

MINUTES_PER_DAY = 24 * 60
# Offsets only change at transitions; sampling every 3 hours finds every real one (tzdata never
# puts two changes that cancel out within 3 hours) and bisection then pins it to the second.
_OFFSET_SAMPLE_STEP = 3 * 3600
_LOOKAHEAD = timedelta(days=8)


@lru_cache(maxsize=1)
def known_zones() -> frozenset[str]:
    """The IANA names a brand may have: a region's (`Area/Location`, `Etc/GMT+5` included) or
    `UTC`, from the tzdata package, so the same on every machine. Not `localtime`, which is
    each machine's own clock, nor `Factory`, nor the legacy one-word aliases (`EST`, `GB`)."""
    return frozenset(name for name in available_timezones() if "/" in name or name == "UTC")


def _instant(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _first_true(lo: int, hi: int, holds: Callable[[int], bool]) -> int:
    """Smallest second in (lo, hi] where `holds` becomes true, given false at lo and true at hi."""
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if holds(mid):
            hi = mid
        else:
            lo = mid
    return hi


def _existing_instant(wall: datetime, tz: ZoneInfo) -> datetime | None:
    """The first instant showing the naive `wall` time in tz, or None when a DST gap skips it."""
    candidate = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if candidate.astimezone(tz).replace(tzinfo=None) == wall:
        return candidate
    return None


def day_start(day: date, tz: ZoneInfo) -> datetime:
    """The first instant (in UTC) whose local date is `day` or later.

    Where midnight repeats this is the first midnight; where a DST gap skips it, the day begins
    at the transition, the first local instant that exists.
    """
    midnight = datetime.combine(day, time())
    existing = _existing_instant(midnight, tz)
    if existing is not None:
        return existing
    # In a gap the fold=1 reading (new offset) lies before the transition, fold=0 after it.
    before = int(midnight.replace(tzinfo=tz, fold=1).timestamp())
    after = int(midnight.replace(tzinfo=tz, fold=0).timestamp())
    return _instant(_first_true(before, after, lambda s: _instant(s).astimezone(tz).date() >= day))


def _require_aware(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("an instant needs a time zone offset")


def local_day(at: datetime, tz: ZoneInfo) -> date:
    """The local day containing `at`: the latest day whose start is not after `at`.

    Usually the wall-clock date; where clocks fall back across midnight the repeated late hour
    already belongs to the new day, so every instant is in exactly one day.
    """
    _require_aware(at)
    day = at.astimezone(tz).date()
    while day_start(day + timedelta(days=1), tz) <= at:
        day += timedelta(days=1)
    return day


def local_month(at: datetime, tz: ZoneInfo) -> date:
    """The first day of the local month containing `at` (the month of its local day)."""
    return local_day(at, tz).replace(day=1)


def local_day_bounds(at: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) in UTC of the local day containing `at`, for day-sized spend sums."""
    day = local_day(at, tz)
    return day_start(day, tz), day_start(day + timedelta(days=1), tz)


def _next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def local_month_bounds(at: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) in UTC of the local month containing `at`, for month-sized spend sums."""
    first = local_month(at, tz)
    return day_start(first, tz), day_start(_next_month(first), tz)


@dataclass(frozen=True)
class Window:
    """A weekly wall-clock window; `end` before `start` runs past midnight into the next day."""

    day_of_week: int  # 0 = Monday .. 6 = Sunday
    start: int  # minutes after local midnight, 0..1439
    end: int  # minutes, 1..1440 (1440 is "24:00")

    def __post_init__(self) -> None:
        if not 0 <= self.day_of_week <= 6:
            raise ValueError("day_of_week must be 0 (Monday) to 6 (Sunday)")
        if not 0 <= self.start < MINUTES_PER_DAY or not 0 < self.end <= MINUTES_PER_DAY:
            raise ValueError("start must be 00:00-23:59 and end 00:01-24:00")
        if self.start == self.end:
            raise ValueError("a window cannot start and end at the same time")

    def contains(self, weekday: int, minute: int) -> bool:
        """Whether the wall-clock minute of that weekday is inside this window."""
        if self.start < self.end:
            return weekday == self.day_of_week and self.start <= minute < self.end
        next_day = (self.day_of_week + 1) % 7
        return (weekday == self.day_of_week and minute >= self.start) or (
            weekday == next_day and minute < self.end
        )


def parse_hhmm(text: str, *, allow_24: bool) -> int:
    """Minutes after midnight of a strict "HH:MM"; "24:00" only where an end is meant."""
    if len(text) != 5 or text[2] != ":" or not all(c in "0123456789" for c in text[:2] + text[3:]):
        raise ValueError(f"{text!r} is not a time in HH:MM form")
    hours, minutes = int(text[:2]), int(text[3:])
    if allow_24 and hours == 24 and minutes == 0:
        return MINUTES_PER_DAY
    if hours > 23 or minutes > 59:
        raise ValueError(f"{text!r} is not a time of day")
    return hours * 60 + minutes


def parse_hhmm_start(text: str) -> int:
    """A window's start: "00:00" to "23:59"."""
    return parse_hhmm(text, allow_24=False)


def parse_window_end(text: str) -> int:
    """A window's end: "24:00" and "00:00" both mean the midnight that ends the day (1440), so
    22:00 to 00:00 runs to midnight."""
    minutes = parse_hhmm(text, allow_24=True)
    return minutes or MINUTES_PER_DAY


def format_hhmm(minutes: int) -> str:
    """The "HH:MM" text of minutes after midnight (1440 is "24:00")."""
    if not 0 <= minutes <= MINUTES_PER_DAY:
        raise ValueError("minutes must be between 0 and 1440")
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def in_window(at: datetime, tz: ZoneInfo, windows: Sequence[Window]) -> bool:
    """Whether the wall clock in tz at `at` is inside any window (none: never).

    By wall clock, so times a DST gap skips never occur and repeated times count both times.
    """
    _require_aware(at)
    wall = at.astimezone(tz)
    minute = wall.hour * 60 + wall.minute
    return any(window.contains(wall.weekday(), minute) for window in windows)


def _boundary_instants(at: datetime, tz: ZoneInfo, windows: Sequence[Window]) -> set[datetime]:
    """Every instant in the lookahead where the wall clock reads a window edge or midnight.

    Both readings of a repeated wall time are included; readings of skipped times are harmless
    extras, since the DST transition itself is a candidate too.
    """
    minutes = {0} | {w.start for w in windows} | {w.end % MINUTES_PER_DAY for w in windows}
    first_day = at.astimezone(tz).date() - timedelta(days=1)
    instants: set[datetime] = set()
    for offset in range(_LOOKAHEAD.days + 3):
        day = datetime.combine(first_day + timedelta(days=offset), time())
        for minute in minutes:
            wall = (day + timedelta(minutes=minute)).replace(tzinfo=tz)
            instants.update(wall.replace(fold=fold).astimezone(UTC) for fold in (0, 1))
    return instants


def _offset_change_between(lo: int, hi: int, tz: ZoneInfo) -> datetime | None:
    """The instant in (lo, hi] where tz's UTC offset changes, if it does (at most once)."""

    def offset(seconds: int) -> timedelta | None:
        return _instant(seconds).astimezone(tz).utcoffset()

    before = offset(lo)
    if offset(hi) == before:
        return None
    return _instant(_first_true(lo, hi, lambda s: offset(s) != before))


def _offset_changes(at: datetime, tz: ZoneInfo) -> set[datetime]:
    """The instants in the lookahead where the wall clock jumps (tz's UTC offset changes)."""
    start = int(at.timestamp())
    samples = range(start, start + int(_LOOKAHEAD.total_seconds()), _OFFSET_SAMPLE_STEP)
    changes = (_offset_change_between(lo, lo + _OFFSET_SAMPLE_STEP, tz) for lo in samples)
    return {change for change in changes if change is not None}


def next_window_change(at: datetime, tz: ZoneInfo, windows: Sequence[Window]) -> datetime | None:
    """The first instant after `at` where `in_window` flips, or None if not within 8 days.

    The wall clock only crosses a window edge at an instant reading that edge, and only jumps at
    an offset change, so membership is constant between consecutive candidates of those two kinds.
    """
    _require_aware(at)
    inside = in_window(at, tz, windows)
    horizon = at + _LOOKAHEAD
    candidates = _boundary_instants(at, tz, windows) | _offset_changes(at, tz)
    for candidate in sorted(c for c in candidates if at < c <= horizon):
        if in_window(candidate, tz, windows) != inside:
            return candidate
    return None

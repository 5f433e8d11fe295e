"""Local days, months and weekly windows of a brand's time zone, exact across DST changes.

Budgets reset when the brand's local day (month) begins and dayparting follows the brand's wall
clock, so both are defined here once. Everything works on aware instants and compares instants:
a local time is never built by adding hours, because DST changes make days 23, 24.5 or 25 hours
long and can skip or repeat midnight itself. Pure: no I/O, no "now".
"""

from __future__ import annotations

import itertools
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


@lru_cache(maxsize=4096)
def day_start(day: date, tz: ZoneInfo) -> datetime:
    """The first instant (in UTC) whose local date is `day` or later.

    Where midnight repeats this is the first midnight; where a DST gap skips it, the day begins
    at the transition, the first local instant that exists. Pure, so kept for the few days in
    use: a spend asks it several times of the same day (its local day, its brand's, the next
    midnight), and every pass of the same few days of each zone.
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


# Scheduled time: how much of an interval the campaign may run, exactly, by arithmetic rather than
# sampling. Between two offset changes the wall clock is the instant plus a fixed offset, so the
# scheduled part of such a piece is the overlap of a wall-clock interval with the weekly windows,
# which repeat every week. Instants and wall readings are integer microseconds: no rounding.

_US = timedelta(microseconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US_PER_MINUTE = 60 * 10**6
_WEEK_US = 7 * MINUTES_PER_DAY * _US_PER_MINUTE
# Wall readings are counted from Monday 1970-01-05 00:00, so a reading modulo a week is the
# time since the local Monday's midnight.
_MONDAY_US = 4 * MINUTES_PER_DAY * _US_PER_MINUTE


@lru_cache(maxsize=4096)
def _offset_changes_in_year(tz: ZoneInfo, year: int) -> tuple[int, ...]:
    """The seconds (UTC) in (Jan 1, next Jan 1] of `year` at which tz's offset changes.

    Cached: a year's changes are found once per zone by sampling and bisection, so a flight of
    any length costs a lookup per year rather than a sample every three hours.
    """
    lo = int(datetime(year, 1, 1, tzinfo=UTC).timestamp())
    hi = int(datetime(year + 1, 1, 1, tzinfo=UTC).timestamp())
    changes = (
        _offset_change_between(s, s + _OFFSET_SAMPLE_STEP, tz)
        for s in range(lo, hi, _OFFSET_SAMPLE_STEP)
    )
    return tuple(int(change.timestamp()) for change in changes if change is not None)


def _micros(at: datetime) -> int:
    return (at - _EPOCH) // _US


def _offset_pieces(start: datetime, end: datetime, tz: ZoneInfo) -> list[tuple[int, int, int]]:
    """[start, end) cut where tz's offset changes: (first, last) instants and offset, in µs."""
    first, last = _micros(start), _micros(end)
    years = range(start.astimezone(UTC).year, end.astimezone(UTC).year + 1)
    cuts = sorted(
        change * 10**6
        for year in years
        for change in _offset_changes_in_year(tz, year)
        if first < change * 10**6 < last
    )
    edges = [first, *cuts, last]
    pieces = []
    for lo, hi in itertools.pairwise(edges):
        offset = (_EPOCH + lo * _US).astimezone(tz).utcoffset() or timedelta(0)
        pieces.append((lo, hi, offset // _US - _MONDAY_US))
    return pieces


@lru_cache(maxsize=4096)
def _weekly_cover(windows: tuple[Window, ...]) -> tuple[tuple[int, int], ...]:
    """The windows as sorted, disjoint [from, to) µs after the local Monday's midnight."""
    spans: list[tuple[int, int]] = []
    for window in windows:
        length = window.end - window.start
        if length < 0:
            length += MINUTES_PER_DAY
        begin = (window.day_of_week * MINUTES_PER_DAY + window.start) * _US_PER_MINUTE
        end = begin + length * _US_PER_MINUTE
        # A Sunday window past midnight runs into Monday, the start of the next week.
        spans += [(begin, min(end, _WEEK_US))] + ([(0, end - _WEEK_US)] if end > _WEEK_US else [])
    merged: list[tuple[int, int]] = []
    for begin, end in sorted(spans):
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((begin, end))
    return tuple(merged)


def _covered_before(cover: tuple[tuple[int, int], ...], wall: int) -> int:
    """Scheduled µs of wall time before `wall`, counted from the week of the reading 0."""
    weeks, into_week = divmod(wall, _WEEK_US)
    in_week = sum(min(into_week, end) - begin for begin, end in cover if begin < into_week)
    return weeks * sum(end - begin for begin, end in cover) + in_week


def _wall_reaching(cover: tuple[tuple[int, int], ...], target: int) -> int:
    """The first wall reading by which `target` (> 0) µs are covered; the cover is not empty."""
    weekly = sum(end - begin for begin, end in cover)
    weeks = (target - 1) // weekly
    left = target - weeks * weekly  # in (0, weekly]
    for begin, end in cover:
        if left <= end - begin:
            return weeks * _WEEK_US + begin + left
        left -= end - begin
    raise AssertionError("unreachable: left never exceeds a week's cover")


def scheduled_time(
    start: datetime, end: datetime, tz: ZoneInfo, windows: Sequence[Window], dayparting: bool
) -> timedelta:
    """How much of [start, end) is scheduled, exactly (zero when end is not after start).

    Without dayparting all of it is (real elapsed time, so a local day lasts 23, 24 or 25 hours);
    with it, the time whose wall clock is inside a window, as `in_window` defines it: wall times a
    DST gap skips do not occur and repeated ones count both times.
    """
    _require_aware(start)
    _require_aware(end)
    if end <= start:
        return timedelta(0)
    if not dayparting:
        return end - start
    cover = _weekly_cover(tuple(windows))
    covered = sum(
        _covered_before(cover, hi + wall) - _covered_before(cover, lo + wall)
        for lo, hi, wall in _offset_pieces(start, end, tz)
    )
    return covered * _US


def day_scheduled_time(
    day: date, tz: ZoneInfo, windows: Sequence[Window], dayparting: bool
) -> timedelta:
    """The scheduled time of a local day: its length without dayparting, its windows' with it."""
    return scheduled_time(
        day_start(day, tz), day_start(day + timedelta(days=1), tz), tz, windows, dayparting
    )


def after_scheduled_time(
    start: datetime,
    amount: timedelta,
    tz: ZoneInfo,
    windows: Sequence[Window],
    dayparting: bool,
    *,
    until: datetime,
) -> datetime | None:
    """The first instant by which `amount` of scheduled time has passed since `start`, or None
    when that does not happen by `until`. The inverse of `scheduled_time`: for the instant t it
    returns, scheduled_time(start, t, ...) == amount.
    """
    _require_aware(start)
    if amount <= timedelta(0):
        return start
    if not dayparting:
        # Compared before adding: an amount far past `until` may lie beyond the last datetime.
        return start + amount if amount <= until - start else None
    cover = _weekly_cover(tuple(windows))
    if not cover:
        return None
    needed = amount // _US
    for lo, hi, wall in _offset_pieces(start, max(start, until), tz):
        covered_at_lo = _covered_before(cover, lo + wall)
        available = _covered_before(cover, hi + wall) - covered_at_lo
        if needed <= available:
            instant = _wall_reaching(cover, covered_at_lo + needed) - wall
            return (_EPOCH + instant * _US).astimezone(UTC)
        needed -= available
    return None

"""The words and the next change the pages show, from the rules' view of one instant."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from campaigns import clock, pacing, rules
from dashboard import display
from dashboard.charts import nice_ceiling

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
NOTHING = rules.SpendSums(Decimal(0), Decimal(0), Decimal(0), Decimal(0))


def evaluate(at: datetime, tz: ZoneInfo, *, daily: str | None = None,
             monthly: str | None = None, spent: str = "0", manual: bool = False,
             windows: list[clock.Window] | None = None) -> rules.Evaluation:
    amount = Decimal(spent)
    return rules.evaluate(
        at, tz=tz,
        campaign_caps=rules.Caps(Decimal(daily) if daily else None,
                                 Decimal(monthly) if monthly else None),
        brand_caps=rules.Caps(None, None),
        spend=rules.SpendSums(amount, amount, Decimal(0), Decimal(0)),
        dayparting=windows is not None, windows=windows or [], manual=manual,
    )


def change(at: datetime, tz: ZoneInfo, evaluation: rules.Evaluation,
           windows: list[clock.Window] | None = None) -> display.Change | None:
    return display.next_change(at, tz=tz, stored_paused=not evaluation.can_run,
                               evaluation=evaluation, dayparting=windows is not None,
                               windows=windows or [])


def test_a_used_up_daily_cap_resumes_at_the_brands_next_local_midnight() -> None:
    at = datetime(2026, 3, 28, 22, 30, tzinfo=UTC)  # 23:30 in Paris, the night clocks go forward
    result = change(at, PARIS, evaluate(at, PARIS, daily="10", spent="10"))
    assert result is not None
    assert result.sentence == "Resumes at 00:00 Europe/Paris"
    assert result.at == datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
    assert result.day_text == "tomorrow" and result.in_text == "in 30 min"


def test_a_used_up_monthly_cap_resumes_at_the_start_of_the_next_local_month() -> None:
    at = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)
    result = change(at, NEW_YORK, evaluate(at, NEW_YORK, monthly="5", spent="5"))
    assert result is not None and result.note == "new month"
    assert result.at == datetime(2026, 12, 1, 5, 0, tzinfo=UTC)  # midnight EST


def test_a_daily_cap_and_dayparting_resume_at_the_first_window_start_after_midnight() -> None:
    windows = [clock.Window(day, 9 * 60, 17 * 60) for day in range(7)]
    at = datetime(2026, 11, 16, 14, 0, tzinfo=UTC)  # 15:00 in Paris, inside the window
    result = change(at, PARIS, evaluate(at, PARIS, daily="1", spent="1", windows=windows),
                    windows)
    assert result is not None
    assert result.sentence == "Resumes at 09:00 Europe/Paris"
    assert result.at == datetime(2026, 11, 17, 8, 0, tzinfo=UTC)


def test_an_active_dayparted_campaign_pauses_when_its_window_ends() -> None:
    windows = [clock.Window(0, 9 * 60, 17 * 60)]
    at = datetime(2026, 11, 16, 14, 0, tzinfo=UTC)  # a Monday, 15:00 in Paris
    result = change(at, PARIS, evaluate(at, PARIS, windows=windows), windows)
    assert result is not None and result.sentence == "Pauses at 17:00 Europe/Paris"


def test_a_manual_pause_has_no_time_and_an_active_campaign_without_windows_no_change() -> None:
    at = datetime(2026, 11, 16, 14, 0, tzinfo=UTC)
    manual = change(at, PARIS, evaluate(at, PARIS, daily="1", spent="1", manual=True))
    assert manual is not None
    assert (manual.at, manual.sentence) == (None, "Stays paused until you resume it")
    assert change(at, PARIS, evaluate(at, PARIS)) is None


def test_a_stored_status_behind_the_rules_changes_within_a_minute() -> None:
    at = datetime(2026, 11, 16, 14, 0, tzinfo=UTC)
    result = display.next_change(at, tz=PARIS, stored_paused=True,
                                 evaluation=evaluate(at, PARIS), dayparting=False, windows=[])
    assert result is not None and result.sentence == "Resumes within a minute"


def test_reasons_read_as_words_in_the_documented_order() -> None:
    assert display.reasons_in_words(["dayparting", "manual", "brand_daily_budget"]) == [
        "Paused by you", "Daily budget of the brand used up", "Outside its dayparting hours"]


def test_gauges_turn_amber_at_80_percent_and_red_when_used_up() -> None:
    def level(spent: str, cap: str | None) -> str:
        return display.Gauge(Decimal(spent), Decimal(cap) if cap else None, "EUR").level

    assert [level("79.99", "100"), level("80", "100"), level("100", "100"),
            level("0", "0"), level("5", None)] == ["ok", "warn", "full", "full", "none"]
    assert display.Gauge(Decimal("120"), Decimal("100"), "EUR").remaining_text == "0.00"


def test_schedules_read_as_grouped_days() -> None:
    windows = [clock.Window(day, 360, 600) for day in range(5)] + [
        clock.Window(day, 1020, 1440) for day in range(7)]
    assert display.schedule_text(windows) == ["Mon\u2013Fri 06:00\u201310:00",
                                              "Every day 17:00\u201324:00"]


def test_chart_axis_ends_on_round_numbers() -> None:
    assert [nice_ceiling(Decimal(v)) for v in ("0", "3", "420", "2100", "0.7")] == [
        Decimal(1), Decimal(5), Decimal(500), Decimal("2500"), Decimal("1")]


def flight_change(at: datetime, flight: pacing.Flight, *, spent: str = "0",
                  spent_today: str = "0") -> display.Change | None:
    lifetime = rules.Lifetime(flight, flight.lifetime_budget, Decimal(spent), Decimal(0))
    amount = Decimal(spent_today)
    evaluation = rules.evaluate(
        at, tz=PARIS, campaign_caps=rules.Caps(None, None), brand_caps=rules.Caps(None, None),
        spend=rules.SpendSums(amount, amount, Decimal(0), Decimal(0)), dayparting=False,
        windows=[], manual=False, lifetime=lifetime)
    return display.next_change(at, tz=PARIS, stored_paused=not evaluation.can_run,
                               evaluation=evaluation, dayparting=False, windows=[],
                               flight=flight)


def test_a_flight_resumes_at_its_start_pacing_at_midnight_and_an_ended_one_stays_paused() -> None:
    flight = pacing.Flight(date(2026, 12, 1), date(2026, 12, 3), Decimal("300"), "even")
    before = flight_change(datetime(2026, 11, 29, 12, tzinfo=UTC), flight)
    assert before is not None and before.note == "its flight starts"
    assert before.at == datetime(2026, 11, 30, 23, tzinfo=UTC)  # 1 Dec, 00:00 in Paris
    paced = flight_change(datetime(2026, 12, 1, 12, tzinfo=UTC), flight, spent="100",
                          spent_today="100")
    assert paced is not None and paced.at == datetime(2026, 12, 1, 23, tzinfo=UTC)
    ended = flight_change(datetime(2026, 12, 4, 12, tzinfo=UTC), flight)
    assert ended is not None and ended.sentence == "Stays paused: its flight has ended"
    spent = flight_change(datetime(2026, 12, 2, 12, tzinfo=UTC), flight, spent="300")
    assert spent is not None and spent.sentence == "Stays paused: its lifetime budget is spent"


def test_the_forecast_reads_as_the_brands_wall_clock() -> None:
    at = datetime(2026, 5, 4, 13, 40, 12, tzinfo=UTC)
    assert display.forecast_text(at, PARIS, Decimal("10"), Decimal("5")) == (
        "At this rate: used up around 15:40")
    assert display.forecast_text(None, PARIS, Decimal("10"), Decimal("5")) == (
        "At this rate: lasts the day")
    assert display.forecast_text(None, PARIS, Decimal("10"), Decimal("10")) is None
    assert display.forecast_text(None, PARIS, None, Decimal("10")) is None

"""Whether a campaign may run: budgets, the user's switch and dayparting, combined."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from campaigns.clock import Window
from campaigns.pacing import Flight
from campaigns.rules import (
    NO_LIFETIME,
    REASONS_ORDER,
    Caps,
    Evaluation,
    Lifetime,
    SpendSums,
    evaluate,
    remaining,
)

NEW_YORK = ZoneInfo("America/New_York")
MONDAY_NOON = datetime(2024, 6, 17, 16, tzinfo=UTC)  # 12:00 EDT
NO_CAPS = Caps(daily=None, monthly=None)
NO_SPEND = SpendSums(*(Decimal(0),) * 4)


def evaluate_with(
    *,
    at: datetime = MONDAY_NOON,
    campaign_caps: Caps = NO_CAPS,
    brand_caps: Caps = NO_CAPS,
    spend: SpendSums = NO_SPEND,
    dayparting: bool = False,
    windows: tuple[Window, ...] = (),
    manual: bool = False,
    lifetime: Lifetime = NO_LIFETIME,
) -> Evaluation:
    return evaluate(
        at,
        tz=NEW_YORK,
        campaign_caps=campaign_caps,
        brand_caps=brand_caps,
        spend=spend,
        dayparting=dayparting,
        windows=windows,
        manual=manual,
        lifetime=lifetime,
    )


def spend(
    today: str = "0", month: str = "0", brand_today: str = "0", brand_month: str = "0"
) -> SpendSums:
    return SpendSums(Decimal(today), Decimal(month), Decimal(brand_today), Decimal(brand_month))


def test_nothing_holding_it_the_campaign_runs() -> None:
    evaluation = evaluate_with()
    assert evaluation.can_run
    assert evaluation.reasons == frozenset()
    assert evaluation.in_window
    assert evaluation.local_time == datetime(2024, 6, 17, 12, tzinfo=NEW_YORK)
    assert evaluation.local_time.utcoffset() == NEW_YORK.utcoffset(datetime(2024, 6, 17, 12))


def test_a_zero_budget_never_runs() -> None:
    evaluation = evaluate_with(campaign_caps=Caps(daily=Decimal("0.00"), monthly=None))
    assert not evaluation.can_run
    assert evaluation.ordered_reasons() == ["campaign_daily_budget"]


def test_spend_equal_to_the_budget_uses_it_up() -> None:
    caps = Caps(daily=Decimal("10.00"), monthly=Decimal("100.00"))
    assert evaluate_with(campaign_caps=caps, spend=spend(today="9.999999")).can_run
    used_up = evaluate_with(campaign_caps=caps, spend=spend(today="10", month="100.00"))
    assert used_up.ordered_reasons() == ["campaign_daily_budget", "campaign_monthly_budget"]


def test_money_is_exact_three_spends_of_a_tenth_use_up_a_budget_of_three_tenths() -> None:
    three_tenths = Decimal("0.1") * 3
    assert three_tenths == Decimal("0.3")
    caps = Caps(daily=Decimal("0.3"), monthly=None)
    evaluation = evaluate_with(brand_caps=caps, spend=spend(brand_today=str(three_tenths)))
    assert evaluation.ordered_reasons() == ["brand_daily_budget"]
    assert evaluation.remaining.brand_daily == Decimal(0)


def test_brand_caps_cover_the_brand_spend() -> None:
    caps = Caps(daily=Decimal("50"), monthly=Decimal("500"))
    evaluation = evaluate_with(brand_caps=caps, spend=spend(brand_today="20", brand_month="500"))
    assert evaluation.ordered_reasons() == ["brand_monthly_budget"]
    assert evaluation.remaining.brand_daily == Decimal("30")


def test_reasons_combine_manual_budget_and_dayparting_in_the_documented_order() -> None:
    evaluation = evaluate_with(
        manual=True,
        campaign_caps=Caps(daily=Decimal("5"), monthly=None),
        brand_caps=Caps(daily=None, monthly=Decimal("5")),
        spend=spend(today="5", brand_month="7"),
        dayparting=True,
        windows=(Window(0, 0, 60),),  # Monday 00:00-01:00; it is noon
    )
    assert evaluation.ordered_reasons() == [
        "manual",
        "campaign_daily_budget",
        "brand_monthly_budget",
        "dayparting",
    ]
    assert not evaluation.can_run
    assert not evaluation.in_window


def test_ordered_reasons_follow_reasons_order() -> None:
    everything = evaluate_with(
        manual=True,
        campaign_caps=Caps(Decimal(0), Decimal(0)),
        brand_caps=Caps(Decimal(0), Decimal(0)),
        dayparting=True,
        lifetime=Lifetime(flight=None, budget=Decimal(0), spent=Decimal(0),
                          spent_before_today=Decimal(0)),
    )
    # A flight's own two exclude each other: `pacing` holds only inside it, `flight` outside.
    assert everything.ordered_reasons() == [
        reason for reason in REASONS_ORDER if reason not in ("flight", "pacing")]


JUNE = Flight(date(2024, 6, 10), date(2024, 6, 20), Decimal("110.00"), "even")


def test_before_its_start_and_after_its_end_a_flight_does_not_run() -> None:
    def reasons_at(at: datetime) -> list[str]:
        lifetime = Lifetime(JUNE, JUNE.lifetime_budget, Decimal(0), Decimal(0))
        return evaluate_with(at=at, lifetime=lifetime).ordered_reasons()

    assert reasons_at(datetime(2024, 6, 10, 3, 59, tzinfo=UTC)) == ["flight"]  # 23:59 EDT
    assert reasons_at(datetime(2024, 6, 10, 4, tzinfo=UTC)) == []
    assert reasons_at(datetime(2024, 6, 21, 3, 59, tzinfo=UTC)) == []
    assert reasons_at(datetime(2024, 6, 21, 4, tzinfo=UTC)) == ["flight"]


def test_even_pacing_holds_the_day_once_its_allowance_is_spent() -> None:
    lifetime = Lifetime(JUNE, JUNE.lifetime_budget, Decimal("70.00"), Decimal("60.00"))
    # 50.00 left over 4 days of 24 h (17th to 20th): 12.50 today
    below = evaluate_with(spend=spend(today="12.49"), lifetime=lifetime)
    reached = evaluate_with(spend=spend(today="12.50"), lifetime=lifetime)
    assert below.allowance_today == reached.allowance_today == Decimal("12.50")
    assert (below.ordered_reasons(), reached.ordered_reasons()) == ([], ["pacing"])


def test_the_lifetime_budget_holds_once_reached() -> None:
    lifetime = Lifetime(None, Decimal("30"), Decimal("30"), Decimal(0))
    assert evaluate_with(lifetime=lifetime).ordered_reasons() == ["campaign_lifetime_budget"]


def test_dayparting_runs_only_inside_a_window_of_the_brand_wall_clock() -> None:
    monday_9_to_17 = (Window(0, 9 * 60, 17 * 60),)
    assert evaluate_with(dayparting=True, windows=monday_9_to_17).can_run
    evening = datetime(2024, 6, 17, 22, tzinfo=UTC)  # 18:00 EDT
    outside = evaluate_with(at=evening, dayparting=True, windows=monday_9_to_17)
    assert outside.ordered_reasons() == ["dayparting"]


def test_dayparting_without_windows_never_runs() -> None:
    evaluation = evaluate_with(dayparting=True)
    assert evaluation.ordered_reasons() == ["dayparting"]
    assert not evaluation.in_window


def test_without_dayparting_the_schedule_is_ignored() -> None:
    evaluation = evaluate_with(dayparting=False, windows=(Window(0, 0, 60),))
    assert evaluation.can_run
    assert evaluation.in_window


def test_remaining_is_none_without_a_cap_and_never_below_zero() -> None:
    assert remaining(None, Decimal("12")) is None
    assert remaining(Decimal("10.00"), Decimal("12.50")) == Decimal(0)
    assert remaining(Decimal("10.00"), Decimal("2.125")) == Decimal("7.875")
    evaluation = evaluate_with(
        campaign_caps=Caps(daily=Decimal("1"), monthly=None), spend=spend(today="3")
    )
    assert evaluation.remaining.campaign_daily == Decimal(0)
    assert evaluation.remaining.campaign_monthly is None
    assert evaluation.remaining.brand_daily is None


def test_a_naive_instant_is_refused() -> None:
    with pytest.raises(ValueError):
        evaluate_with(at=datetime(2024, 6, 17, 12))


# --- Overshoot: how far spend went past each budget that is used up ------------------------------

def test_overshoot_is_spent_minus_each_used_up_budget_lifetime_included() -> None:
    evaluation = evaluate_with(
        campaign_caps=Caps(daily=Decimal("10"), monthly=Decimal("100")),
        brand_caps=Caps(daily=Decimal("12.5"), monthly=None),
        spend=spend(today="12.654321", month="50", brand_today="12.5", brand_month="50"),
        lifetime=Lifetime(None, Decimal("40"), Decimal("41.10"), Decimal(0)),
    )
    assert evaluation.overshoot == {
        "campaign_daily_budget": Decimal("2.654321"),
        "campaign_lifetime_budget": Decimal("1.10"),
        "brand_daily_budget": Decimal("0.0"),  # exactly on it
    }
    assert set(evaluation.overshoot) <= evaluation.reasons


def test_a_budget_not_used_up_and_other_reasons_have_no_overshoot() -> None:
    evaluation = evaluate_with(campaign_caps=Caps(daily=Decimal("10"), monthly=None),
                               spend=spend(today="9.99"), manual=True)
    assert evaluation.reasons == {"manual"} and evaluation.overshoot == {}


def test_a_change_overshoots_only_the_budgets_it_adds() -> None:
    evaluation = evaluate_with(
        campaign_caps=Caps(daily=Decimal("10"), monthly=Decimal("10")),
        spend=spend(today="11", month="11"), manual=True)
    assert evaluation.overshoot_added(["manual", "campaign_daily_budget"]) == {
        "campaign_monthly_budget": Decimal("1")}
    assert evaluation.overshoot_added(evaluation.ordered_reasons()) == {}

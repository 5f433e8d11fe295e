"""Which alert thresholds a spend crosses: a pure rule, compared exactly."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from notifications.thresholds import BudgetSpend, Crossing, threshold_crossings

DAY = date(2026, 3, 1)


def daily(limit: str | None, before: str, after: str,
          thresholds: tuple[int, ...] = (80, 100)) -> BudgetSpend:
    return BudgetSpend("brand", 3, "daily", DAY, None if limit is None else Decimal(limit),
                       Decimal(before), Decimal(after), thresholds)


def crossed(spend: BudgetSpend) -> list[int]:
    return [crossing.threshold for crossing in threshold_crossings([spend])]


def test_spend_that_reaches_80_percent_crosses_80() -> None:
    (crossing,) = threshold_crossings([daily("100", "79.99", "80.00")])
    assert crossing == Crossing("brand", 3, "daily", DAY, 80, Decimal("100"), Decimal("80.00"))


def test_spend_just_below_the_level_crosses_nothing() -> None:
    assert crossed(daily("100", "0", "79.999999")) == []


def test_spend_that_was_already_at_the_level_does_not_cross_it_again() -> None:
    assert crossed(daily("100", "80", "90")) == []


def test_one_large_spend_crosses_every_threshold_it_passes_lowest_first() -> None:
    assert crossed(daily("100", "10", "150", (100, 50, 80))) == [50, 80, 100]


def test_levels_are_exact_decimals_not_floats() -> None:
    # 33 % of 0.10 is 0.033: a float comparison would say 0.033 < 0.033000000000000005
    assert crossed(daily("0.10", "0", "0.033", (33,))) == [33]


def test_a_budget_of_zero_never_crosses_it_means_never_runs() -> None:
    assert crossed(daily("0", "0", "5")) == []


def test_no_budget_no_thresholds() -> None:
    assert crossed(daily(None, "0", "5000")) == []


@pytest.mark.parametrize("before, after", [("50", "50"), ("60", "50")])
def test_no_new_spend_crosses_nothing(before: str, after: str) -> None:
    assert crossed(daily("100", before, after)) == []


def test_the_dedupe_key_names_scope_id_budget_period_and_threshold() -> None:
    (daily_crossing,) = threshold_crossings([daily("100", "0", "80", (80,))])
    assert daily_crossing.dedupe_key == "threshold:brand:3:daily:80:2026-03-01"
    lifetime = BudgetSpend("campaign", 9, "lifetime", None, Decimal("10"), Decimal("0"),
                           Decimal("10"), (100,))
    assert threshold_crossings([lifetime])[0].dedupe_key == "threshold:campaign:9:lifetime:100"

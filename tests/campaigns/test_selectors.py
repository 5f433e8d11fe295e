"""campaigns.selectors, called directly: what the rules are given, read in a fixed number of
queries, each brand's spend summed over its own local day and month."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from campaigns import clock, ledger, selectors
from campaigns.models import Brand, Campaign, ScheduleWindow
from tenants.models import Agency

# 23:30 UTC on 31 March: already 1 April in Tokyo, still 31 March in New York.
AT = datetime(2026, 3, 31, 23, 30, tzinfo=UTC)
pytestmark = pytest.mark.django_db


def spend(campaign: Campaign, amount: str, at: datetime) -> None:
    ledger.record_spend(ledger.SpendEvent(campaign.pk, Decimal(amount), at, None), now=at)


@pytest.fixture
def brands(in_tenant: Agency) -> dict[str, Brand]:
    return {zone: Brand.objects.create(name=zone, timezone=zone, daily_budget=Decimal("100"))
            for zone in ("Asia/Tokyo", "America/New_York")}


def test_each_brand_is_summed_over_its_own_local_day_and_month(
    brands: dict[str, Brand],
) -> None:
    tokyo = Campaign.objects.create(brand=brands["Asia/Tokyo"], name="t")
    new_york = Campaign.objects.create(brand=brands["America/New_York"], name="n")
    for campaign in (tokyo, new_york):
        spend(campaign, "3.00", datetime(2026, 3, 31, 12, tzinfo=UTC))  # 31 March in both
        spend(campaign, "5.00", datetime(2026, 3, 31, 23, 0, tzinfo=UTC))

    current = selectors.snapshot(AT)

    assert current.brand_days == {
        brands["Asia/Tokyo"].pk: (date(2026, 4, 1), date(2026, 4, 1)),
        brands["America/New_York"].pk: (date(2026, 3, 31), date(2026, 3, 1)),
    }
    assert (current.campaigns[tokyo.pk].today, current.campaigns[tokyo.pk].month) == (
        Decimal("5.00"), Decimal("5.00"))  # 08:00 on 1 April in Tokyo; the 3.00 was March
    assert (current.campaigns[new_york.pk].today, current.campaigns[new_york.pk].month) == (
        Decimal("8.00"), Decimal("8.00"))


def test_a_brands_spend_is_the_sum_of_its_campaigns(brands: dict[str, Brand]) -> None:
    brand = brands["America/New_York"]
    first, second = (Campaign.objects.create(brand=brand, name=n) for n in "ab")
    spend(first, "1.25", AT)
    spend(second, "2.50", AT)
    current = selectors.snapshot(AT, brand_ids=[brand.pk])
    assert set(current.campaigns) == {first.pk, second.pk}
    assert (current.brands[brand.pk].today, current.brands[brand.pk].month) == (
        Decimal("3.75"), Decimal("3.75"))
    assert selectors.brand_remaining(brand, current.brands[brand.pk]) == (Decimal("96.25"), None)


def test_windows_are_read_for_dayparted_campaigns_only(brands: dict[str, Brand]) -> None:
    brand = brands["Asia/Tokyo"]
    dayparted = Campaign.objects.create(brand=brand, name="d", dayparting=True)
    plain = Campaign.objects.create(brand=brand, name="p")
    for campaign in (dayparted, plain):
        ScheduleWindow.objects.create(campaign=campaign, day_of_week=2, start_minute=540,
                                      end_minute=1020)
    current = selectors.snapshot(AT)
    assert current.campaigns[dayparted.pk].windows == [clock.Window(2, 540, 1020)]
    assert current.campaigns[plain.pk].windows == []


@pytest.mark.parametrize("campaigns", [1, 40])
def test_a_snapshot_is_two_queries_however_many_campaigns(
    brands: dict[str, Brand], campaigns: int, django_assert_num_queries: Any,
) -> None:
    Campaign.objects.bulk_create(
        Campaign(brand=brand, name=f"c{n}", dayparting=n % 2 == 0)
        for brand in brands.values() for n in range(campaigns))
    with django_assert_num_queries(2):  # the brands, then their campaigns with sums and windows
        current = selectors.snapshot(AT)
    assert len(current.campaigns) == 2 * campaigns
    assert len(current.evaluate_all()) == 2 * campaigns


def test_brand_rows_come_in_id_order_whatever_order_they_are_asked_in(
    brands: dict[str, Brand],
) -> None:
    ids = sorted(brand.pk for brand in brands.values())
    assert [row.id for row in selectors.brand_rows(reversed(ids), lock=True)] == ids

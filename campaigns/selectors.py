"""Reads that feed the rules: everything `rules.evaluate` needs for many campaigns at one instant,
in a fixed number of queries however many campaigns there are."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.db.models import Q

from campaigns import clock, rules
from campaigns.models import Brand, Campaign, Period, ScheduleWindow, SpendTotal

ZERO = Decimal("0")


@lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@dataclass
class CampaignState:
    """One campaign's inputs to the rules at one instant."""

    campaign_id: int
    brand_id: int
    tz: ZoneInfo
    campaign_caps: rules.Caps
    brand_caps: rules.Caps
    dayparting: bool
    manual: bool
    windows: list[clock.Window] = field(default_factory=list)
    today: Decimal = ZERO
    month: Decimal = ZERO


@dataclass
class BrandSpend:
    today: Decimal = ZERO
    month: Decimal = ZERO


@dataclass(frozen=True)
class Snapshot:
    """The states of a set of campaigns at `at`, with their brands' spend sums."""

    at: datetime
    campaigns: dict[int, CampaignState]
    brands: dict[int, BrandSpend]
    brand_days: dict[int, tuple[date, date]]

    def evaluate(self, campaign_id: int) -> rules.Evaluation:
        state = self.campaigns[campaign_id]
        brand = self.brands[state.brand_id]
        spend = rules.SpendSums(
            campaign_today=state.today, campaign_month=state.month,
            brand_today=brand.today, brand_month=brand.month,
        )
        return rules.evaluate(
            self.at, tz=state.tz, campaign_caps=state.campaign_caps,
            brand_caps=state.brand_caps, spend=spend, dayparting=state.dayparting,
            windows=state.windows, manual=state.manual,
        )

    def evaluate_all(self) -> dict[int, rules.Evaluation]:
        return {campaign_id: self.evaluate(campaign_id) for campaign_id in self.campaigns}


def snapshot(at: datetime, *, brand_ids: Iterable[int] | None = None) -> Snapshot:
    """Campaigns of the given brands (all when None) as of `at`: four queries in all."""
    brands = Brand.objects.all() if brand_ids is None else Brand.objects.filter(id__in=brand_ids)
    brand_rows = {b.id: b for b in brands}
    brand_days = {
        b.id: (clock.local_day(at, zone(b.timezone)), clock.local_month(at, zone(b.timezone)))
        for b in brand_rows.values()
    }
    campaigns = _campaign_states(brand_rows)
    _attach_windows(campaigns)
    _attach_totals(campaigns, brand_days)
    return Snapshot(at=at, campaigns=campaigns, brands=_brand_spend(campaigns, brand_rows),
                    brand_days=brand_days)


def _campaign_states(brands: dict[int, Brand]) -> dict[int, CampaignState]:
    rows = Campaign.objects.filter(brand_id__in=list(brands)).values_list(
        "id", "brand_id", "daily_budget", "monthly_budget", "dayparting", "manual_paused"
    )
    states = {}
    for campaign_id, brand_id, daily, monthly, dayparting, manual in rows:
        brand = brands[brand_id]
        states[campaign_id] = CampaignState(
            campaign_id=campaign_id, brand_id=brand_id, tz=zone(brand.timezone),
            campaign_caps=rules.Caps(daily=daily, monthly=monthly),
            brand_caps=rules.Caps(daily=brand.daily_budget, monthly=brand.monthly_budget),
            dayparting=dayparting, manual=manual,
        )
    return states


def _attach_windows(states: dict[int, CampaignState]) -> None:
    dayparted = [cid for cid, state in states.items() if state.dayparting]
    if not dayparted:
        return
    rows = ScheduleWindow.objects.filter(campaign_id__in=dayparted).values_list(
        "campaign_id", "day_of_week", "start_minute", "end_minute"
    )
    for campaign_id, day_of_week, start, end in rows:
        states[campaign_id].windows.append(clock.Window(day_of_week, start, end))


def _attach_totals(
    states: dict[int, CampaignState], brand_days: dict[int, tuple[date, date]]
) -> None:
    """One query for every (campaign, its brand's local day and month) pair."""
    if not states:
        return
    wanted: dict[tuple[str, date], list[int]] = defaultdict(list)
    for campaign_id, state in states.items():
        day, month = brand_days[state.brand_id]
        wanted[(Period.DAY, day)].append(campaign_id)
        wanted[(Period.MONTH, month)].append(campaign_id)
    condition = Q()
    for (period, start), ids in wanted.items():
        condition |= Q(period=period, period_start=start, campaign_id__in=ids)
    rows = SpendTotal.objects.filter(condition).values_list("campaign_id", "period", "amount")
    for campaign_id, period, amount in rows:
        if period == Period.DAY:
            states[campaign_id].today = amount
        else:
            states[campaign_id].month = amount


def _brand_spend(
    states: dict[int, CampaignState], brands: dict[int, Brand]
) -> dict[int, BrandSpend]:
    spend = {brand_id: BrandSpend() for brand_id in brands}
    for state in states.values():
        spend[state.brand_id].today += state.today
        spend[state.brand_id].month += state.month
    return spend


def brand_ids_of(campaign_ids: Sequence[int]) -> list[int]:
    return sorted(
        set(Campaign.objects.filter(id__in=campaign_ids).values_list("brand_id", flat=True))
    )


def brand_remaining(brand: Brand, spend: BrandSpend) -> tuple[Decimal | None, Decimal | None]:
    return (
        rules.remaining(brand.daily_budget, spend.today),
        rules.remaining(brand.monthly_budget, spend.month),
    )

"""Whether a campaign may run at an instant, and why not: the one place that decides.

Pure: the caller passes the spend of the local day and month of `at` (see `clock`), so the rules
can be evaluated for now, for a what-if instant, or for thousands of campaigns in one pass.
Money is `Decimal` throughout: a budget of 0.30 is used up by exactly three spends of 0.10.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from campaigns import clock, pacing

MANUAL = "manual"
CAMPAIGN_DAILY_BUDGET = "campaign_daily_budget"
CAMPAIGN_MONTHLY_BUDGET = "campaign_monthly_budget"
CAMPAIGN_LIFETIME_BUDGET = pacing.CAMPAIGN_LIFETIME_BUDGET
BRAND_DAILY_BUDGET = "brand_daily_budget"
BRAND_MONTHLY_BUDGET = "brand_monthly_budget"
DAYPARTING = "dayparting"
FLIGHT = pacing.FLIGHT
PACING = pacing.PACING
REASONS_ORDER = (
    MANUAL,
    CAMPAIGN_DAILY_BUDGET,
    CAMPAIGN_MONTHLY_BUDGET,
    CAMPAIGN_LIFETIME_BUDGET,
    BRAND_DAILY_BUDGET,
    BRAND_MONTHLY_BUDGET,
    DAYPARTING,
    FLIGHT,
    PACING,
)
# The reasons that are budgets used up (a history entry's `overshoot` names how far past).
BUDGET_REASONS = frozenset({CAMPAIGN_DAILY_BUDGET, CAMPAIGN_MONTHLY_BUDGET,
                            CAMPAIGN_LIFETIME_BUDGET, BRAND_DAILY_BUDGET, BRAND_MONTHLY_BUDGET})


@dataclass(frozen=True)
class Caps:
    """Budgets of a campaign or a brand; None means no cap."""

    daily: Decimal | None
    monthly: Decimal | None


@dataclass(frozen=True)
class SpendSums:
    """Spend in the brand's local day and month containing the evaluated instant."""

    campaign_today: Decimal
    campaign_month: Decimal
    brand_today: Decimal
    brand_month: Decimal


@dataclass(frozen=True)
class Lifetime:
    """A campaign's flight (None without dates), its lifetime budget, and its spend in the
    flight (all its spend without dates) in total and before the local day of the instant."""

    flight: pacing.Flight | None
    budget: Decimal | None
    spent: Decimal
    spent_before_today: Decimal


NO_LIFETIME = Lifetime(flight=None, budget=None, spent=Decimal(0), spent_before_today=Decimal(0))


@dataclass(frozen=True)
class Remaining:
    """What is left of each cap (None where there is no cap)."""

    campaign_daily: Decimal | None
    campaign_monthly: Decimal | None
    brand_daily: Decimal | None
    brand_monthly: Decimal | None


@dataclass(frozen=True)
class Evaluation:
    """The verdict at one instant, with the figures that explain it."""

    at: datetime
    local_time: datetime  # `at` in the brand's zone
    reasons: frozenset[str]
    can_run: bool
    in_window: bool
    spend: SpendSums
    remaining: Remaining
    allowance_today: Decimal | None = None  # even pacing inside the flight, else None
    # How far spend went past each budget that is used up (spent - budget; 0 when exactly on
    # it), by its reason: what a history entry's `overshoot` reports for the reasons it adds.
    overshoot: Mapping[str, Decimal] = field(default_factory=dict)

    def ordered_reasons(self) -> list[str]:
        """The reasons in their documented order, for stable output and storage."""
        return [reason for reason in REASONS_ORDER if reason in self.reasons]

    def overshoot_added(self, previous_reasons: Sequence[str]) -> dict[str, Decimal]:
        """The overshoot of the budget reasons that a change from `previous_reasons` to these
        adds: a budget already used up before is not overshot again by this change."""
        return {reason: amount for reason, amount in self.overshoot.items()
                if reason not in previous_reasons}


def is_used_up(cap: Decimal | None, spent: Decimal) -> bool:
    """A budget is used up once spend reaches it, so a budget of 0 never runs."""
    return cap is not None and spent >= cap


def remaining(cap: Decimal | None, spent: Decimal) -> Decimal | None:
    """What is left of a cap: None without one, never below zero, exact (no rounding)."""
    if cap is None:
        return None
    return max(Decimal(0), cap - spent)


def _used_up_budgets(campaign_caps: Caps, brand_caps: Caps, spend: SpendSums,
                     lifetime: Lifetime) -> dict[str, Decimal]:
    """Each budget used up, by its reason, with how far spend went past it. The lifetime
    budget's reason is the flight rules' (`pacing.flight_reasons`); its overshoot is here."""
    checks = (
        (CAMPAIGN_DAILY_BUDGET, campaign_caps.daily, spend.campaign_today),
        (CAMPAIGN_MONTHLY_BUDGET, campaign_caps.monthly, spend.campaign_month),
        (CAMPAIGN_LIFETIME_BUDGET, lifetime.budget, lifetime.spent),
        (BRAND_DAILY_BUDGET, brand_caps.daily, spend.brand_today),
        (BRAND_MONTHLY_BUDGET, brand_caps.monthly, spend.brand_month),
    )
    return {reason: spent - cap for reason, cap, spent in checks
            if cap is not None and is_used_up(cap, spent)}


def _remaining(campaign_caps: Caps, brand_caps: Caps, spend: SpendSums) -> Remaining:
    return Remaining(
        campaign_daily=remaining(campaign_caps.daily, spend.campaign_today),
        campaign_monthly=remaining(campaign_caps.monthly, spend.campaign_month),
        brand_daily=remaining(brand_caps.daily, spend.brand_today),
        brand_monthly=remaining(brand_caps.monthly, spend.brand_month),
    )


def evaluate(
    at: datetime,
    *,
    tz: ZoneInfo,
    campaign_caps: Caps,
    brand_caps: Caps,
    spend: SpendSums,
    dayparting: bool,
    windows: Sequence[clock.Window],
    manual: bool,
    lifetime: Lifetime = NO_LIFETIME,
) -> Evaluation:
    """Everything that stops the campaign at `at`; it can run exactly when nothing does.

    With dayparting off the schedule is ignored (always in window); with it on and no windows
    the campaign never runs. A flight adds its own reasons (`pacing.flight_reasons`).
    """
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("`at` must be timezone-aware")
    inside = not dayparting or clock.in_window(at, tz, windows)
    allowance = None if lifetime.flight is None else pacing.allowance_at(
        at, lifetime.flight, tz, windows, dayparting, lifetime.spent_before_today)
    used_up = _used_up_budgets(campaign_caps, brand_caps, spend, lifetime)
    reasons = (used_up.keys() - {CAMPAIGN_LIFETIME_BUDGET}) | pacing.flight_reasons(
        at, tz, flight=lifetime.flight, lifetime_budget=lifetime.budget,
        lifetime_spend=lifetime.spent, spent_today=spend.campaign_today, allowance=allowance)
    if manual:
        reasons.add(MANUAL)
    if not inside:
        reasons.add(DAYPARTING)
    return Evaluation(
        at=at,
        local_time=at.astimezone(tz),
        reasons=frozenset(reasons),
        can_run=not reasons,
        in_window=inside,
        spend=spend,
        remaining=_remaining(campaign_caps, brand_caps, spend),
        allowance_today=allowance,
        overshoot={reason: amount for reason, amount in used_up.items() if reason in reasons},
    )

"""Which alert thresholds a spend crossed. Pure: no ORM, no I/O, no clock.

A brand's `alert_thresholds` are percentages of each of its budgets and of each of its
campaigns' budgets. Threshold t of a budget with limit L is reached by the spend that takes the
budget's spend from below L * t / 100 to at least it: `spent_before < L*t/100 <= spent_after`,
compared exactly in Decimal. Spend only ever grows, so each threshold is crossed at most once per
budget and period; the writer's dedupe key makes "once" hold also across retries and races.

A budget of 0 never crosses anything: it means "never runs" (the campaign is paused by it from
the start, and that pause is its own event), and no spend can go from below 0 % of 0 to above.
A budget without a limit (None) has no thresholds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

Scope = Literal["brand", "campaign"]
BudgetKind = Literal["daily", "monthly", "lifetime"]
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class BudgetSpend:
    """One budget's spend before and after a write, in the period the write counted to.

    `period` is the first local day of the day or the month the spend counted to (None for a
    lifetime budget); `thresholds` are the brand's `alert_thresholds`.
    """

    scope: Scope
    id: int
    budget: BudgetKind
    period: date | None
    limit: Decimal | None
    spent_before: Decimal
    spent_after: Decimal
    thresholds: Sequence[int]


@dataclass(frozen=True)
class Crossing:
    """Threshold `threshold` % of a budget, reached by spend that came to `spent`."""

    scope: Scope
    id: int
    budget: BudgetKind
    period: date | None
    threshold: int
    limit: Decimal
    spent: Decimal

    @property
    def dedupe_key(self) -> str:
        """Once per scope, budget, threshold and period, as the contract says."""
        period = f":{self.period.isoformat()}" if self.period else ""
        return f"threshold:{self.scope}:{self.id}:{self.budget}:{self.threshold}{period}"


def threshold_level(limit: Decimal, threshold: int) -> Decimal:
    """The spend at which `threshold` % of `limit` is reached, exactly."""
    return limit * threshold / HUNDRED


def threshold_crossings(budgets: Iterable[BudgetSpend]) -> list[Crossing]:
    """Every threshold crossed by the spend of each budget, in the order given, lowest
    threshold first (a single large spend can cross 80 % and 100 % at once)."""
    crossings = []
    for spend in budgets:
        if spend.limit is None or spend.limit <= 0 or spend.spent_after <= spend.spent_before:
            continue
        for threshold in sorted(set(spend.thresholds)):
            level = threshold_level(spend.limit, threshold)
            if spend.spent_before < level <= spend.spent_after:
                crossings.append(Crossing(
                    scope=spend.scope, id=spend.id, budget=spend.budget, period=spend.period,
                    threshold=threshold, limit=spend.limit, spent=spend.spent_after,
                ))
    return crossings

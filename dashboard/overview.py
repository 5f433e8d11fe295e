"""Reads for the pages: the overview of every brand and campaign, and one campaign's detail.

The overview is one `selectors.snapshot` plus the brand and campaign rows: a fixed number of
queries for 3 campaigns or 3,000. Statuses shown are the stored ones (what the service enforces);
the snapshot's evaluation supplies the spend, the remaining amounts and the next change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from campaigns import clock, flights, selectors
from campaigns.models import Brand, Campaign, Period, SpendTotal, StatusChange
from dashboard import display
from dashboard.charts import BarChart, PaceChart, bar_chart, pace_chart

HISTORY_LIMIT = 25
CHART_DAYS = 30


@dataclass
class CampaignRow:
    campaign: Campaign
    brand: Brand
    paused: bool
    reasons: list[str]
    today: display.Gauge
    month: display.Gauge
    change: display.Change | None
    windows: list[clock.Window] = field(default_factory=list)
    forecast: str | None = None  # "At this rate: used up around 15:40" (daily cap only)
    allowance_today: Decimal | None = None  # even pacing inside the flight

    @property
    def allowance_text(self) -> str:
        return display.money(self.allowance_today)


@dataclass
class BrandPanel:
    brand: Brand
    local_time: str
    utc_offset: str
    today: display.Gauge
    month: display.Gauge
    campaigns: list[CampaignRow] = field(default_factory=list)
    forecast: str | None = None

    @property
    def active_count(self) -> int:
        return sum(1 for row in self.campaigns if not row.paused)

    @property
    def paused_count(self) -> int:
        return sum(1 for row in self.campaigns if row.paused)


@dataclass
class Overview:
    at: datetime
    brands: list[BrandPanel]

    @property
    def campaigns(self) -> list[CampaignRow]:
        return [row for panel in self.brands for row in panel.campaigns]

    @property
    def active_count(self) -> int:
        return sum(panel.active_count for panel in self.brands)

    @property
    def paused_count(self) -> int:
        return sum(panel.paused_count for panel in self.brands)


def build_overview(at: datetime, *, brand_ids: list[int] | None = None,
                   snap: selectors.Snapshot | None = None) -> Overview:
    """Every brand (or the given ones) with its campaigns, as of `at` (from `snap` when the
    caller has already read it)."""
    snap = snap or selectors.snapshot(at, brand_ids=brand_ids)
    brands = Brand.objects.all() if brand_ids is None else Brand.objects.filter(id__in=brand_ids)
    panels = {brand.pk: _brand_panel(at, brand, snap) for brand in brands}
    # Only the campaigns the snapshot saw: one created in between appears on the next poll.
    campaigns = Campaign.objects.filter(
        brand_id__in=list(panels), pk__in=list(snap.campaigns)
    ).order_by("brand_id", "id")
    for campaign in campaigns:
        panel = panels[campaign.brand_id]
        campaign.brand = panel.brand  # already read: no query per campaign
        panel.campaigns.append(_campaign_row(at, campaign, panel.brand, snap))
    return Overview(at=at, brands=list(panels.values()))


def _brand_panel(at: datetime, brand: Brand, snap: selectors.Snapshot) -> BrandPanel:
    tz = selectors.zone(brand.timezone)
    spend = snap.brands.get(brand.pk, selectors.BrandSpend())
    run_out = flights.brand_run_out_at(at, tz, brand.daily_budget, spend.today)
    return BrandPanel(
        brand=brand,
        local_time=display.local_time_text(at, tz),
        utc_offset=display.utc_offset_text(at, tz),
        today=display.Gauge(spend.today, brand.daily_budget, brand.currency),
        month=display.Gauge(spend.month, brand.monthly_budget, brand.currency),
        forecast=display.forecast_text(run_out, tz, brand.daily_budget, spend.today),
    )


def _campaign_row(
    at: datetime, campaign: Campaign, brand: Brand, snap: selectors.Snapshot
) -> CampaignRow:
    state = snap.campaigns[campaign.pk]
    evaluation = snap.evaluate(campaign.pk)
    paused = campaign.status == "paused"
    return CampaignRow(
        campaign=campaign,
        brand=brand,
        paused=paused,
        reasons=display.reasons_in_words(campaign.pause_reasons),
        today=display.Gauge(state.today, campaign.daily_budget, brand.currency),
        month=display.Gauge(state.month, campaign.monthly_budget, brand.currency),
        change=display.next_change(
            at, tz=state.tz, stored_paused=paused, evaluation=evaluation,
            dayparting=state.dayparting, windows=state.windows, flight=state.lifetime.flight,
        ),
        windows=state.windows,
        forecast=display.forecast_text(flights.forecast(snap, campaign.pk).campaign_daily,
                                       state.tz, campaign.daily_budget, state.today),
        allowance_today=evaluation.allowance_today,
    )


@dataclass
class FlightPanel:
    """A flight on the campaign page: its figures in words, and its pace as a picture."""

    figures: flights.FlightFigures
    dates: str
    chart: PaceChart | None  # None without a lifetime budget (no expected line to draw)

    @property
    def lines(self) -> list[tuple[str, str]]:
        """(label, text) of each figure, in the order the page lists them."""
        figures, pace = self.figures, self.figures.pace
        lines = [("Flight", self.dates)]
        if figures.flight.lifetime_budget is not None:
            lines.append(("Lifetime budget", display.money(figures.flight.lifetime_budget)))
        lines.append(("Spent in the flight", display.money(figures.spent)))
        if figures.remaining is not None:
            lines.append(("Left", display.money(figures.remaining)))
        if figures.allowance_today is not None:
            lines.append(("Allowance today", display.money(figures.allowance_today)))
        if pace.expected is not None:
            lines.append(("Expected by now", display.money(pace.expected)))
        if pace.state is not None:
            ratio = "" if pace.ratio is None else f" ({pace.ratio:.0%} of expected)"
            lines.append(("Pace", display.PACE_TEXT[pace.state] + ratio))
        if pace.projected_total is not None:
            lines.append(("Projected total", display.money(pace.projected_total)))
        return lines


@dataclass
class CampaignDetail:
    row: CampaignRow
    panel: BrandPanel
    schedule: list[str]
    chart: BarChart
    spend_30_days: Decimal
    history: list[dict[str, Any]]
    flight: FlightPanel | None = None

    @property
    def spend_30_days_text(self) -> str:
        return display.money(self.spend_30_days)


def campaign_detail(at: datetime, campaign: Campaign) -> CampaignDetail:
    """One campaign: its row and brand as on the overview, 30 local days of spend, history."""
    snap = selectors.snapshot(at, brand_ids=[campaign.brand_id])
    overview = build_overview(at, brand_ids=[campaign.brand_id], snap=snap)
    panel = overview.brands[0]
    row = next(r for r in panel.campaigns if r.campaign.pk == campaign.pk)
    tz = selectors.zone(panel.brand.timezone)
    today = clock.local_day(at, tz)
    days = [today - timedelta(days=back) for back in range(CHART_DAYS - 1, -1, -1)]
    spend = _daily_spend(campaign.pk, days[0], today)
    return CampaignDetail(
        row=row,
        panel=panel,
        schedule=display.schedule_text(row.windows) if campaign.dayparting else [],
        chart=bar_chart(days, spend, cap=row.campaign.daily_budget, today=today),
        spend_30_days=sum(spend.values(), Decimal(0)),
        history=_history(campaign, tz),
        flight=_flight_panel(snap, campaign.pk),
    )


def _flight_panel(snap: selectors.Snapshot, campaign_id: int) -> FlightPanel | None:
    figures = flights.flight_figures(snap, campaign_id)
    if figures is None:
        return None
    flight, state = figures.flight, snap.campaigns[campaign_id]
    dates = display.date_range_text(flight.start_date, flight.end_date)
    if flight.lifetime_budget is None:
        return FlightPanel(figures, dates, None)
    days = [flight.start_date + timedelta(days=i)
            for i in range((flight.end_date - flight.start_date).days + 1)]
    today = clock.local_day(snap.at, state.tz)
    spend = _daily_spend(campaign_id, flight.start_date, min(today, flight.end_date))
    cumulative, total = [], Decimal(0)
    for day in days:
        if day >= today:
            break
        total += spend.get(day, Decimal(0))
        cumulative.append(total)
    shares = flights.scheduled_shares(flight, state.tz, state.windows, state.dayparting)
    chart = pace_chart(days, [float(share) for share in shares], cumulative,
                       lifetime_budget=flight.lifetime_budget,
                       now_position=flights.days_into(snap.at, flight, state.tz),
                       spent_now=figures.spent)
    return FlightPanel(figures, dates, chart)


def _daily_spend(campaign_id: int, first: date, last: date) -> dict[date, Decimal]:
    """Spend by local day, read from the running totals (never a sum over the ledger)."""
    rows = SpendTotal.objects.filter(
        campaign_id=campaign_id, period=Period.DAY, period_start__range=(first, last)
    ).values_list("period_start", "amount")
    return dict(rows)


def _history(campaign: Campaign, tz: Any) -> list[dict[str, Any]]:
    changes = StatusChange.objects.filter(campaign_id=campaign.pk).order_by("-id")[:HISTORY_LIMIT]
    return [
        {
            "at": f"{change.at.astimezone(tz):%Y-%m-%d %H:%M}",
            "from": change.from_status,
            "to": change.to_status,
            "reasons": display.reasons_in_words(change.reasons),
            "cause": display.CAUSE_TEXT.get(change.cause, change.cause),
            "actor": change.actor_name,  # who made the edit or the switch; "" otherwise
            "overshoot": [f"{amount} over the {reason.replace('_', ' ')}"
                          for reason, amount in sorted(change.overshoot.items())],
        }
        for change in changes
    ]

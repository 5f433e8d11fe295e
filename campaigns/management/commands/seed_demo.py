"""`python manage.py seed_demo [--output FILE]`: a demo agency that shows the product at once.

"Demo Agency" (slug `demo`) gets a user, an API token, three brands in three time zones, eight
campaigns with caps and dayparting, and 30 local days of spend. The spend is replayed in time
order through the ledger (`ledger.record_batch`, decided at the instant a spend uses up a cap)
with the periodic pass at every local midnight and window edge in between, so totals, statuses
and status history are what the service would have recorded live. A last jobs pass as of now
sets today's statuses.

Idempotent: when the demo agency exists it only prints its details again (from FILE, which holds
the password and token: they are shown only at creation, so keep FILE under the git-ignored
`.data/`).
"""

from __future__ import annotations

import os
import random
import secrets
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import User
from audit.log import Actor
from campaigns import clock, ledger, services, status
from campaigns.models import Brand, Campaign, Cause
from campaigns.tenant_passes import run_for_schema
from tenants import services as tenant_services
from tenants.models import Agency

SLUG = "demo"
NAME = "Demo Agency"
EMAIL = "demo@example.com"
DAYS = 30
SPENDS_PER_DAY = 4
EVERY_DAY = (0, 1, 2, 3, 4, 5, 6)
WEEKDAYS = (0, 1, 2, 3, 4)
CENT = Decimal("0.01")


@dataclass(frozen=True)
class CampaignPlan:
    name: str
    daily: str | None
    monthly: str | None = None
    windows: tuple[tuple[tuple[int, ...], str, str], ...] = ()  # (days, "HH:MM", "HH:MM")
    pace: float = 0.8  # a typical day's spend as a share of the daily cap
    today: float = 0.5  # today's spend so far, as a share of the daily cap
    manual: bool = False  # paused by the user at the end
    curl: bool = False  # the campaign the printed curl line pauses
    flight: tuple[int, int] | None = None  # first and last day, in days from today
    lifetime: str | None = None
    pacing: str = "asap"


@dataclass(frozen=True)
class BrandPlan:
    name: str
    timezone: str
    currency: str
    daily: str | None
    monthly: str | None
    campaigns: tuple[CampaignPlan, ...]


PLAN = (
    BrandPlan("Maison Lumière", "Europe/Paris", "EUR", "1200.00", "28000.00", (
        CampaignPlan("Spring collection · Search", "400.00", today=1.0),
        CampaignPlan("Spring collection · Social", "350.00", "8000.00", today=0.6),
        CampaignPlan("Paris flagship · Display", "250.00",
                     windows=((EVERY_DAY, "08:00", "20:00"),), today=0.5),
        CampaignPlan("Summer launch · Even flight", "450.00", flight=(-20, 9),
                     lifetime="9000.00", pacing="even", pace=0.7, today=0.4),
    )),
    BrandPlan("Hudson Outdoor", "America/New_York", "USD", "2500.00", "45000.00", (
        CampaignPlan("Trail running · Video", "900.00", today=0.35, curl=True),
        CampaignPlan("Breakfast flash · Search", "300.00",
                     windows=((WEEKDAYS, "06:00", "10:00"),), today=0.8),
        CampaignPlan("Evergreen · Brand search", "500.00", "12000.00", today=0.3, manual=True),
        CampaignPlan("Holiday push · Flight", "600.00", flight=(-10, 19), lifetime="15000.00",
                     pace=0.9, today=0.5),
    )),
    BrandPlan("Himalaya Tea Co.", "Asia/Kathmandu", "USD", "700.00", "18000.00", (
        CampaignPlan("Monsoon blend · Social", "500.00", today=0.9, pace=0.85),
        CampaignPlan("Morning ritual · Display", "400.00",
                     windows=((EVERY_DAY, "05:00", "09:00"), (EVERY_DAY, "17:00", "21:00")),
                     today=0.6),
    )),
)


def wall_instant(day: date, minute: int, tz: ZoneInfo) -> datetime:
    """The instant the brand's wall clock reads `minute` on `day` (first reading if repeated)."""
    wall = datetime.combine(day, time()) + timedelta(minutes=minute)
    return wall.replace(tzinfo=tz).astimezone(UTC)


@dataclass(frozen=True)
class Step:
    """One moment of the replay: a spend, or a jobs pass (`campaign_id` None)."""

    at: datetime
    campaign_id: int | None = None
    amount: Decimal = Decimal(0)
    uses_up: bool = False  # this spend reaches a cap: the status changes at its instant


class Replay:
    """Spend for one brand, in time order, kept within its caps as the live service would."""

    def __init__(self, brand: Brand, campaigns: list[tuple[Campaign, CampaignPlan]],
                 now: datetime, rng: random.Random) -> None:
        self.brand, self.campaigns, self.now, self.rng = brand, campaigns, now, rng
        self.tz = ZoneInfo(brand.timezone)
        self.today = clock.local_day(now, self.tz)
        self.days = [self.today - timedelta(days=back) for back in range(DAYS - 1, -1, -1)]

    def steps(self) -> list[Step]:
        spends = [step for day in self.days for step in self._day_spends(day)]
        passes = [Step(at) for at in self._pass_instants()]
        kept = self._within_caps(sorted(spends, key=lambda s: s.at))
        # At one instant the pass goes first, as the minute's job would run before the spend.
        return sorted((s for s in kept + passes if s.at < self.now),
                      key=lambda s: (s.at, s.campaign_id is not None))

    def _day_spends(self, day: date) -> Iterator[Step]:
        now_minute = None
        if day == self.today:
            local = self.now.astimezone(self.tz)
            now_minute = local.hour * 60 + local.minute - 2
        for campaign, plan in self.campaigns:
            minutes = self._spend_minutes(day, plan, now_minute)
            if not minutes:
                continue
            cap = Decimal(plan.daily or "300")
            share = plan.today if day == self.today else plan.pace * self.rng.uniform(0.7, 1.35)
            total = cap * Decimal(str(share))
            weights = [self.rng.uniform(0.6, 1.4) for _ in minutes]
            for minute, weight in zip(minutes, weights, strict=True):
                amount = (total * Decimal(str(weight / sum(weights)))).quantize(CENT)
                if amount > 0:
                    yield Step(wall_instant(day, minute, self.tz), campaign.pk, amount)

    def _spend_minutes(self, day: date, plan: CampaignPlan, until: int | None) -> list[int]:
        if plan.windows:
            open_minutes = [
                m for days, start, end in plan.windows if day.weekday() in days
                for m in range(clock.parse_hhmm(start, allow_24=False),
                               clock.parse_hhmm(end, allow_24=True))
            ]
        else:
            open_minutes = list(range(7 * 60, 23 * 60))
        if until is not None:
            open_minutes = [m for m in open_minutes if m <= until] or (
                [] if plan.windows else list(range(max(until, 1))))
        if not open_minutes:
            return []
        count = SPENDS_PER_DAY if until is None else max(1, SPENDS_PER_DAY - 1)
        return sorted(self.rng.sample(open_minutes, min(count, len(open_minutes))))

    def _within_caps(self, spends: list[Step]) -> list[Step]:
        """Trim or drop spends that a paused campaign would not have made."""
        caps = {c.pk: (c.daily_budget, c.monthly_budget) for c, _ in self.campaigns}
        spent: dict[tuple[Any, ...], Decimal] = defaultdict(Decimal)
        kept = []
        for step in spends:
            assert step.campaign_id is not None
            day = clock.local_day(step.at, self.tz)
            month = day.replace(day=1)
            limits = [
                (("c", step.campaign_id, day), caps[step.campaign_id][0]),
                (("c", step.campaign_id, month), caps[step.campaign_id][1]),
                (("b", day), self.brand.daily_budget),
                (("b", month), self.brand.monthly_budget),
            ]
            room = min((cap - spent[key] for key, cap in limits if cap is not None),
                       default=step.amount)
            amount = min(step.amount, room)
            if amount <= 0:
                continue
            for key, _ in limits:
                spent[key] += amount
            uses_up = any(cap is not None and spent[key] >= cap for key, cap in limits)
            kept.append(Step(step.at, step.campaign_id, amount, uses_up=uses_up))
        return kept

    def _pass_instants(self) -> set[datetime]:
        """Every local midnight, and every window edge of the brand's dayparted campaigns."""
        instants = {clock.day_start(day, self.tz) for day in self.days[1:]}
        for _, plan in self.campaigns:
            for days, start, end in plan.windows:
                for day in self.days:
                    if day.weekday() in days:
                        instants.add(wall_instant(day, clock.parse_hhmm(start, allow_24=False),
                                                  self.tz))
                        instants.add(wall_instant(day, clock.parse_hhmm(end, allow_24=True),
                                                  self.tz))
        return instants


class Command(BaseCommand):
    actor: Actor  # the demo agency's user, who "made" its brands and campaigns
    help = "Create the demo agency with brands, campaigns and 30 days of spend (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", help="also write the details (with secrets) to this file")
        parser.add_argument("--password", help="the demo user's password (default: generated)")

    def handle(self, *args: Any, **options: Any) -> None:
        output = Path(options["output"]) if options["output"] else None
        if Agency.objects.filter(slug=SLUG).exists():
            self._print_existing(output)
            return
        password = options["password"] or f"demo-{secrets.token_hex(5)}"
        now = timezone.now()
        self.stdout.write(f"Creating the demo agency “{NAME}” ({SLUG}) ...")
        with transaction.atomic():  # all or nothing: a failed seed leaves no half demo
            result = tenant_services.create_agency(name=NAME, slug=SLUG, email=EMAIL,
                                                   password=password)
            with tenant_context(result.agency):
                self.actor = Actor.user(User.objects.get(email=EMAIL))
                curl_campaign = self._seed(now)
                self.stdout.write("Running one jobs pass as of now ...")
                run_for_schema(result.agency.schema_name, now)
        details = self._details(result.token, password, curl_campaign)
        if output:  # `make run` prints it once the web answers: say it once, at the end
            self._write(output, details)
            self.stdout.write(f"Demo ready; its URL, login and token are in {output}.")
        else:
            self.stdout.write("")
            self.stdout.write(details)

    # --- seeding -------------------------------------------------------------------------
    def _seed(self, now: datetime) -> tuple[Campaign, Decimal]:
        rng = random.Random(20240601)  # the same story on every machine
        curl: tuple[Campaign, Decimal] | None = None
        for plan in PLAN:
            brand, campaigns = self._create_brand(plan, now)
            replay = Replay(brand, campaigns, now, rng)
            self._replay(brand, replay)
            for campaign, campaign_plan in campaigns:
                if campaign_plan.manual:
                    services.set_manual_pause(campaign, True, actor=self.actor, now=now)
                if campaign_plan.curl:
                    curl = (campaign, Decimal(campaign_plan.daily or "100"))
        assert curl is not None
        return curl

    def _create_brand(
        self, plan: BrandPlan, now: datetime
    ) -> tuple[Brand, list[tuple[Campaign, CampaignPlan]]]:
        tz = ZoneInfo(plan.timezone)
        start = clock.day_start(clock.local_day(now, tz) - timedelta(days=DAYS), tz)
        brand = services.create_brand(
            {"name": plan.name, "timezone": plan.timezone, "currency": plan.currency,
             "daily_budget": Decimal(plan.daily) if plan.daily else None,
             "monthly_budget": Decimal(plan.monthly) if plan.monthly else None},
            actor=self.actor, now=start,
        )
        campaigns = []
        today = clock.local_day(now, tz)
        for campaign_plan in plan.campaigns:
            campaign = services.create_campaign(
                {"brand": brand, "name": campaign_plan.name,
                 "daily_budget": Decimal(campaign_plan.daily) if campaign_plan.daily else None,
                 "monthly_budget": (Decimal(campaign_plan.monthly) if campaign_plan.monthly
                                    else None),
                 **self._flight(campaign_plan, today)},
                actor=self.actor, now=start,
            )
            if campaign_plan.windows:
                services.set_schedule(campaign, list(self._windows(campaign_plan)),
                                      actor=self.actor, now=start)
                campaign = services.update_campaign(campaign, {"dayparting": True},
                                                    actor=self.actor, now=start)
            campaigns.append((campaign, campaign_plan))
        return brand, campaigns

    @staticmethod
    def _flight(plan: CampaignPlan, today: date) -> dict[str, Any]:
        """A flight's fields, its dates counted from the brand's today."""
        if plan.flight is None:
            return {}
        first, last = plan.flight
        return {"start_date": today + timedelta(days=first),
                "end_date": today + timedelta(days=last),
                "lifetime_budget": Decimal(plan.lifetime) if plan.lifetime else None,
                "pacing": plan.pacing}

    @staticmethod
    def _windows(plan: CampaignPlan) -> Iterator[clock.Window]:
        for days, start, end in plan.windows:
            for day in days:
                yield clock.Window(day, clock.parse_hhmm(start, allow_24=False),
                                   clock.parse_hhmm(end, allow_24=True))

    def _replay(self, brand: Brand, replay: Replay) -> None:
        """The spends through the ledger, a batch at a time, each batch decided at its last
        spend; batches end where a spend uses up a cap and before each jobs pass, so every
        status change is recorded at the instant it would have happened live."""
        steps = replay.steps()
        label = f"  {brand.name} ({brand.timezone})"
        self.stdout.write(f"{label:<42}", ending="")
        pending: list[ledger.SpendEvent] = []
        shown = spends = 0
        for index, step in enumerate(steps, start=1):
            if step.campaign_id is None:
                self._flush(pending)
                status.decide(step.at, cause=Cause.JOB, brand_ids=[brand.pk])
            else:
                pending.append(ledger.SpendEvent(step.campaign_id, step.amount, step.at, None))
                spends += 1
                if step.uses_up:
                    self._flush(pending)
            while shown < index * DAYS // len(steps):
                shown += 1
                self.stdout.write(".", ending="")
                self.stdout.flush()
        self._flush(pending)
        self.stdout.write(f" {DAYS} days, {spends} spends")

    @staticmethod
    def _flush(pending: list[ledger.SpendEvent]) -> None:
        if pending:
            last = pending[-1].occurred_at
            assert last is not None
            ledger.record_batch(pending, now=last)
            pending.clear()

    # --- output --------------------------------------------------------------------------
    @staticmethod
    def _base_url() -> str:
        port = os.environ.get("PORT", "8000")
        domain = tenant_services.tenant_domain(SLUG)
        return tenant_services.tenant_url(f"{domain}:{port}").rstrip("/")

    def _details(self, token: str, password: str, curl: tuple[Campaign, Decimal]) -> str:
        base = self._base_url()
        campaign, amount = curl
        body = f'{{"campaign": {campaign.pk}, "amount": "{amount}"}}'
        return "\n".join([
            f"Demo agency “{NAME}”",
            f"  Dashboard   {base}/",
            f"  Log in      {EMAIL} / {password}",
            f"  Admin       {base}/admin/",
            f"  API token   {token}",
            "",
            f"Post a spend that uses up the daily budget of “{campaign.name}”; the dashboard",
            "shows it paused within 10 s, and it resumes at the brand's next local midnight:",
            f"  curl -s -X POST {base}/api/v1/spend -H \"Authorization: Bearer {token}\" "
            f"-H \"Content-Type: application/json\" -d '{body}'",
        ])

    def _print_existing(self, output: Path | None) -> None:
        if output and output.exists():
            self.stdout.write("The demo agency exists already:")
            self.stdout.write(output.read_text().rstrip())
            return
        base = self._base_url()
        self.stdout.write("\n".join([
            f"The demo agency “{NAME}” exists already; nothing was changed.",
            f"  Dashboard   {base}/",
            f"  Log in      {EMAIL} (its password and API token were printed when it was made",
            "              and saved in .data/demo.txt by `make run`)",
        ]))

    @staticmethod
    def _write(output: Path, details: str) -> None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(details + "\n")
        output.chmod(0o600)  # it holds the demo's password and token

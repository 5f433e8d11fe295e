"""Budget data of one agency, in its own schema: brands, campaigns, schedules, the spend ledger,
running totals by local day and month, and the status history."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import JSONField, Q, Value

from campaigns import clock
from campaigns.currencies import CURRENCY_CODES


def budget_field() -> models.DecimalField:
    """A cap: two decimals, null for none."""
    return models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)


def validate_timezone_name(name: str) -> None:
    """At the model, so the admin refuses what the API refuses: an unknown zone would break
    every decision about the brand."""
    if name not in clock.known_zones():
        raise ValidationError(f"Unknown IANA time zone: {name!r}.")


def validate_currency(code: str) -> None:
    """ISO 4217, as stored: three capital letters of a current currency."""
    if code not in CURRENCY_CODES:
        raise ValidationError(f"Not an ISO 4217 currency code: {code!r}.")


def validate_window(day_of_week: int, start_minute: int, end_minute: int) -> None:
    """What a stored window must be, for the API and the admin alike (a window that starts when
    it ends made every later decision about its campaign fail)."""
    try:
        clock.Window(day_of_week, start_minute, end_minute)
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc


DEFAULT_ALERT_THRESHOLDS = (80, 100)
MAX_ALERT_THRESHOLDS = 10


def default_alert_thresholds() -> list[int]:
    return list(DEFAULT_ALERT_THRESHOLDS)


def validate_alert_thresholds(thresholds: object) -> None:
    """Percentages of a budget at which `budget.threshold_reached` is sent: whole numbers from
    1 to 100, each once, in increasing order (the order the events come in). At the model, so
    the API, the admin and the dashboard refuse the same lists."""
    if not isinstance(thresholds, list | tuple):
        raise ValidationError("Expected a list of percentages, e.g. [80, 100].")
    if len(thresholds) > MAX_ALERT_THRESHOLDS:
        raise ValidationError(f"At most {MAX_ALERT_THRESHOLDS} thresholds.")
    for value in thresholds:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100:
            raise ValidationError(f"{value!r} is not a whole percentage from 1 to 100.")
    if any(later <= earlier for earlier, later in itertools.pairwise(thresholds)):
        raise ValidationError("Thresholds must be distinct and in increasing order, "
                              "e.g. [50, 80, 100].")


class CurrencyCodeField(models.CharField):
    """A currency code, read in capitals wherever it comes from ("eur" is EUR), then validated
    by `validate_currency`: the admin and the API accept and refuse the same codes."""

    def to_python(self, value: Any) -> Any:
        value = super().to_python(value)
        return value.strip().upper() if isinstance(value, str) else value


def budgets_not_negative(owner: str) -> list[models.BaseConstraint]:
    return [
        models.CheckConstraint(condition=Q(**{f"{cap}__gte": 0}), name=f"{owner}_{cap}_gte_0")
        for cap in ("daily_budget", "monthly_budget")
    ]


class Status(models.TextChoices):
    ACTIVE = "active"
    PAUSED = "paused"


class Cause(models.TextChoices):
    SPEND = "spend"
    JOB = "job"
    MANUAL = "manual"
    EDIT = "edit"


class Brand(models.Model):
    name = models.CharField(max_length=200)
    timezone = models.CharField(
        max_length=64, validators=[validate_timezone_name],
        help_text="IANA zone; days and months are its own.",
    )
    currency = CurrencyCodeField(max_length=3, default="USD", validators=[validate_currency])
    daily_budget = budget_field()
    monthly_budget = budget_field()
    # Percentages of the brand's and its campaigns' budgets that send budget.threshold_reached.
    alert_thresholds = ArrayField(
        models.PositiveSmallIntegerField(), default=default_alert_thresholds, blank=True,
        validators=[validate_alert_thresholds],
        # In the database too: rows inserted by SQL (tests, benches, operators) get it as well.
        db_default=Value(list(DEFAULT_ALERT_THRESHOLDS),
                         output_field=ArrayField(models.PositiveSmallIntegerField())),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = budgets_not_negative("brand")

    def __str__(self) -> str:
        return self.name


class Pacing(models.TextChoices):
    ASAP = "asap"
    EVEN = "even"


# Flight dates whose local midnights every zone can compute (the year 1 and the year 9999 are
# out of datetime's range in some offsets), and a longest flight: its pace and allowance add up
# its scheduled time, about a millisecond per year of dayparted flight at every decision.
EARLIEST_FLIGHT_DAY = date(1900, 1, 1)
LATEST_FLIGHT_DAY = date(9998, 12, 31)
MAX_FLIGHT_DAYS = 3660


def validate_flight(start_date: date | None, end_date: date | None,
                    lifetime_budget: Decimal | None, pacing: str) -> None:
    """A flight's dates and budget, for the API and the admin alike (field-named errors)."""
    if (start_date is None) != (end_date is None):
        missing = "end_date" if end_date is None else "start_date"
        raise ValidationError({missing: "A flight has both a start and an end date, or neither."})
    for name, day in (("start_date", start_date), ("end_date", end_date)):
        if day is not None and not EARLIEST_FLIGHT_DAY <= day <= LATEST_FLIGHT_DAY:
            raise ValidationError({name: f"A flight day is from {EARLIEST_FLIGHT_DAY} to "
                                         f"{LATEST_FLIGHT_DAY}."})
    if start_date is not None and end_date is not None and end_date < start_date:
        raise ValidationError({"end_date": "The flight cannot end before it starts."})
    if start_date is not None and end_date is not None and (
            (end_date - start_date).days >= MAX_FLIGHT_DAYS):
        raise ValidationError({"end_date": f"A flight lasts at most {MAX_FLIGHT_DAYS} days."})
    if pacing == Pacing.EVEN and (start_date is None or lifetime_budget is None):
        raise ValidationError({"pacing": "Even pacing needs both dates and a lifetime budget."})


class Campaign(models.Model):
    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="campaigns")
    name = models.CharField(max_length=200)
    daily_budget = budget_field()
    monthly_budget = budget_field()
    dayparting = models.BooleanField(default=False)
    # The flight: days of the brand's zone, inclusive; its budget, and how it is spent.
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    lifetime_budget = budget_field()
    pacing = models.CharField(max_length=4, choices=Pacing.choices, default=Pacing.ASAP,
                              db_default=Pacing.ASAP)
    # The user's own switch; only /resume clears it, never the system.
    manual_paused = models.BooleanField(default=False)
    # Written only by campaigns.status.
    status = models.CharField(max_length=6, choices=Status.choices, default=Status.ACTIVE)
    pause_reasons = ArrayField(models.CharField(max_length=32), default=list, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    # The first instant after the last decision at which the evaluation can change without new
    # spend (`pacing.next_change_at`); None: never decided, so due. Written only by
    # campaigns.status, with the status; the passes evaluate only the campaigns due.
    next_change_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["next_change_at"], name="campaign_next_change_at")]
        constraints = [
            *budgets_not_negative("campaign"),
            models.CheckConstraint(condition=Q(lifetime_budget__gte=0),
                                   name="campaign_lifetime_budget_gte_0"),
            models.CheckConstraint(
                condition=Q(start_date__isnull=True, end_date__isnull=True)
                | Q(start_date__isnull=False, end_date__gte=models.F("start_date")),
                name="campaign_flight_dates"),
            models.CheckConstraint(
                condition=~Q(pacing=Pacing.EVEN)
                | Q(start_date__isnull=False, lifetime_budget__isnull=False),
                name="campaign_even_pacing_has_a_flight"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        validate_flight(self.start_date, self.end_date, self.lifetime_budget, self.pacing)


class ScheduleWindow(models.Model):
    """A weekly wall-clock window in the brand's zone; `end_minute` < `start_minute` runs past
    midnight, 1440 is "24:00"."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="windows")
    day_of_week = models.PositiveSmallIntegerField()
    start_minute = models.PositiveSmallIntegerField()
    end_minute = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["campaign_id", "day_of_week", "start_minute"]
        constraints = [
            models.CheckConstraint(condition=Q(day_of_week__lte=6), name="window_day_of_week"),
            models.CheckConstraint(condition=Q(start_minute__lt=1440), name="window_start"),
            models.CheckConstraint(
                condition=Q(end_minute__gte=1, end_minute__lte=1440), name="window_end"
            ),
            models.CheckConstraint(
                condition=~Q(start_minute=models.F("end_minute")), name="window_not_empty"
            ),
        ]

    def __str__(self) -> str:
        return f"day {self.day_of_week} {self.start_minute}-{self.end_minute}"

    def clean(self) -> None:
        if None not in (self.day_of_week, self.start_minute, self.end_minute):
            validate_window(self.day_of_week, self.start_minute, self.end_minute)


class Spend(models.Model):
    """The append-only ledger. Written only by campaigns.ledger."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="spends")
    amount = models.DecimalField(max_digits=18, decimal_places=6)
    occurred_at = models.DateTimeField()
    local_day = models.DateField()
    event_id = models.CharField(max_length=200, null=True, blank=True, unique=True)
    # SHA-256 of the request as the client meant it, to tell a retry from a different body.
    request_hash = models.CharField(max_length=64, blank=True, default="")
    # For a retry of the event_id: {"campaign_status": ...} as the first answer gave it (the
    # rest of that answer is this row). Null for events recorded in a batch.
    response = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="spend_amount_gt_0")]
        indexes = [models.Index(fields=["campaign", "occurred_at"])]

    def __str__(self) -> str:
        return f"{self.amount} on campaign {self.campaign_id} at {self.occurred_at}"


class Period(models.TextChoices):
    DAY = "d"
    MONTH = "m"


class SpendTotal(models.Model):
    """Spend per campaign per local day ('d') and local month ('m', keyed by its first day),
    kept by atomic upserts in the transaction that writes the spend."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="totals")
    period = models.CharField(max_length=1, choices=Period.choices)
    period_start = models.DateField()
    amount = models.DecimalField(max_digits=24, decimal_places=6)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "period", "period_start"], name="spend_total_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.period} {self.period_start}: {self.amount}"


class StatusChange(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="history")
    at = models.DateTimeField()
    from_status = models.CharField(max_length=6, choices=Status.choices)
    to_status = models.CharField(max_length=6, choices=Status.choices)
    reasons = ArrayField(models.CharField(max_length=32), default=list)
    cause = models.CharField(max_length=6, choices=Cause.choices)
    # {budget reason the change added: how far spend went past it, as money text}; {} if none.
    overshoot = models.JSONField(default=dict, blank=True, db_default=Value({}, JSONField()))
    # Who acted, for cause `edit` or `manual` (as audit.log.Actor); empty for spend and jobs.
    actor_type = models.CharField(max_length=5, blank=True, default="", db_default="")
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_name = models.CharField(max_length=254, blank=True, default="", db_default="")

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["campaign", "-id"])]

    def __str__(self) -> str:
        return f"{self.campaign_id}: {self.from_status} -> {self.to_status} ({self.cause})"

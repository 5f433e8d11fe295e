"""Serializers per endpoint: they parse and render; decisions live in the services."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from audit.models import ActorType
from campaigns import clock, flights, rules
from campaigns.api.fields import AlertThresholdsField, CurrencyField, TimezoneField, money_field
from campaigns.ledger import format_amount
from campaigns.models import (
    EARLIEST_FLIGHT_DAY,
    LATEST_FLIGHT_DAY,
    MAX_FLIGHT_DAYS,
    Brand,
    Campaign,
    Pacing,
    StatusChange,
    validate_flight,
    validate_window,
)


class BrandSerializer(serializers.ModelSerializer[Brand]):
    timezone = TimezoneField()
    currency = CurrencyField(default="USD")
    daily_budget = money_field()
    monthly_budget = money_field()
    alert_thresholds = AlertThresholdsField(required=False)

    class Meta:
        model = Brand
        fields = ["id", "name", "timezone", "currency", "daily_budget", "monthly_budget",
                  "alert_thresholds"]


class CampaignSerializer(serializers.ModelSerializer[Campaign]):
    brand = serializers.PrimaryKeyRelatedField(
        queryset=Brand.objects.all(),
        help_text="Set when the campaign is created; a PATCH may repeat it, another is a 400.")
    daily_budget = money_field()
    monthly_budget = money_field()
    dayparting = serializers.BooleanField(default=False)
    start_date = serializers.DateField(
        allow_null=True, required=False,
        help_text=("First day of the flight (the brand's local day), from "
                   f"{EARLIEST_FLIGHT_DAY} to {LATEST_FLIGHT_DAY}; with end_date or not at all."))
    end_date = serializers.DateField(
        allow_null=True, required=False,
        help_text=("Last day of the flight, inclusive: not before start_date, and at most "
                   f"{MAX_FLIGHT_DAYS} days from it (same range as start_date)."))
    lifetime_budget = money_field(
        help_text="The campaign's budget over its flight (all its spend without dates).")
    pacing = serializers.ChoiceField(
        choices=Pacing.choices, default=Pacing.ASAP,
        help_text="asap, or even: each day's allowance (needs both dates and a lifetime budget).")

    class Meta:
        model = Campaign
        fields = [
            "id",
            "brand",
            "name",
            "daily_budget",
            "monthly_budget",
            "dayparting",
            "start_date",
            "end_date",
            "lifetime_budget",
            "pacing",
            "status",
            "pause_reasons",
        ]
        read_only_fields = ["status", "pause_reasons"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """The flight as it will be stored, checked once by the model's own `validate_flight`
        (its check constraints back it up): a PATCH is merged with the stored fields first, so
        `pacing: "even"` on a campaign without dates is refused too."""
        def merged(name: str) -> Any:
            return attrs[name] if name in attrs else getattr(self.instance, name, None)

        try:
            validate_flight(merged("start_date"), merged("end_date"), merged("lifetime_budget"),
                            merged("pacing"))
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        return attrs


class WindowSerializer(serializers.Serializer[dict[str, Any]]):
    day_of_week = serializers.IntegerField(min_value=0, max_value=6)
    start = serializers.CharField()
    end = serializers.CharField()

    def validate_start(self, value: str) -> int:
        return _minutes(value, clock.parse_hhmm_start)

    def validate_end(self, value: str) -> int:
        return _minutes(value, clock.parse_window_end)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        attrs: dict[str, Any] = super().to_internal_value(data)
        if data["start"] == data["end"]:  # "00:00" to "00:00" too, though its end means 24:00
            raise serializers.ValidationError({"end": "A window cannot start and end together."})
        return attrs

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        try:
            validate_window(attrs["day_of_week"], attrs["start"], attrs["end"])
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"end": exc.messages}) from exc
        return attrs


def _minutes(value: str, parse: Callable[[str], int]) -> int:
    try:
        return parse(value)
    except ValueError as exc:
        raise serializers.ValidationError(f"Expected HH:MM, got {value!r}.") from exc


class ScheduleSerializer(serializers.Serializer[dict[str, Any]]):
    windows = serializers.ListField(child=WindowSerializer(), max_length=200)


class HistoryActorSerializer(serializers.Serializer[StatusChange]):
    """Who made the edit or flipped the manual switch, as the audit log names actors."""

    type = serializers.ChoiceField(choices=ActorType.choices, source="actor_type")
    id = serializers.IntegerField(source="actor_id")
    name = serializers.CharField(source="actor_name")


@extend_schema_field({"type": "object", "additionalProperties": {"type": "string"},
                      "description": 'How far spend went past each budget the change added: '
                                     '`{"campaign_daily_budget": "3.00"}`; `{}` if none.'})
class OvershootField(serializers.JSONField):
    pass


class HistorySerializer(serializers.Serializer[StatusChange]):
    """`{"at", "from", "to", "reasons", "cause", "overshoot", "actor"}`: `from` is a Python
    keyword, hence get_fields. `actor` is null for spend and jobs."""

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        return {
            "at": serializers.DateTimeField(),
            "from": serializers.CharField(source="from_status"),
            "to": serializers.CharField(source="to_status"),
            "reasons": serializers.ListField(child=serializers.CharField()),
            "cause": serializers.CharField(),
            "overshoot": OvershootField(),
            "actor": serializers.SerializerMethodField(),
        }

    @extend_schema_field(HistoryActorSerializer(allow_null=True))
    def get_actor(self, change: StatusChange) -> dict[str, Any] | None:
        if not change.actor_type:
            return None
        return dict(HistoryActorSerializer(change).data)


def money(value: Decimal | None) -> str | None:
    return None if value is None else format_amount(value)


def instant(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def ratio_text(ratio: Decimal | None) -> str | None:
    """A ratio as decimal text with four places ("0.9750"), as money is text: never a float."""
    return None if ratio is None else f"{ratio:.4f}"


def flight_body(figures: flights.FlightFigures | None) -> dict[str, Any] | None:
    if figures is None:
        return None
    flight, pace = figures.flight, figures.pace
    return {
        "start_date": flight.start_date.isoformat(),
        "end_date": flight.end_date.isoformat(),
        "lifetime_budget": money(flight.lifetime_budget),
        "spent": money(figures.spent),
        "remaining": money(figures.remaining),
        "allowance_today": money(figures.allowance_today),
        "pace": {
            "expected": money(pace.expected),
            "ratio": ratio_text(pace.ratio),
            "state": pace.state,
            "projected_total": money(pace.projected_total),
        },
    }


def forecast_body(forecast: flights.Forecast) -> dict[str, Any]:
    return {"campaign_daily": instant(forecast.campaign_daily),
            "brand_daily": instant(forecast.brand_daily)}


def evaluation_body(evaluation: rules.Evaluation, *, flight: flights.FlightFigures | None = None,
                    forecast: flights.Forecast | None = None) -> dict[str, Any]:
    spend, remaining = evaluation.spend, evaluation.remaining
    return {
        "at": evaluation.at.isoformat(),
        "local_time": evaluation.local_time.isoformat(),
        "can_run": evaluation.can_run,
        "reasons": evaluation.ordered_reasons(),
        "in_window": evaluation.in_window,
        "spend": {
            "campaign_today": money(spend.campaign_today),
            "campaign_month": money(spend.campaign_month),
            "brand_today": money(spend.brand_today),
            "brand_month": money(spend.brand_month),
        },
        "remaining": {
            "campaign_daily": money(remaining.campaign_daily),
            "campaign_monthly": money(remaining.campaign_monthly),
            "brand_daily": money(remaining.brand_daily),
            "brand_monthly": money(remaining.brand_monthly),
        },
        "forecast": forecast_body(forecast or flights.Forecast(None, None)),
        "flight": flight_body(flight),
    }


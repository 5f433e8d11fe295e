"""Serializers per endpoint: they parse and render; decisions live in the services."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from audit.models import ActorType
from campaigns import clock, rules
from campaigns.api.fields import CurrencyField, money_field
from campaigns.ledger import format_amount
from campaigns.models import (
    Brand,
    Campaign,
    StatusChange,
    validate_timezone_name,
    validate_window,
)


class BrandSerializer(serializers.ModelSerializer[Brand]):
    timezone = serializers.CharField(validators=[validate_timezone_name])
    currency = CurrencyField(default="USD")
    daily_budget = money_field()
    monthly_budget = money_field()

    class Meta:
        model = Brand
        fields = ["id", "name", "timezone", "currency", "daily_budget", "monthly_budget",
                  "alert_thresholds"]


class CampaignSerializer(serializers.ModelSerializer[Campaign]):
    brand = serializers.PrimaryKeyRelatedField(queryset=Brand.objects.all())
    daily_budget = money_field()
    monthly_budget = money_field()
    dayparting = serializers.BooleanField(default=False)

    class Meta:
        model = Campaign
        fields = [
            "id",
            "brand",
            "name",
            "daily_budget",
            "monthly_budget",
            "dayparting",
            "status",
            "pause_reasons",
        ]
        read_only_fields = ["status", "pause_reasons"]


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


def evaluation_body(evaluation: rules.Evaluation) -> dict[str, Any]:
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
    }

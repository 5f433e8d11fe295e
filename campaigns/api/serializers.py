"""Serializers per endpoint: they parse and render; decisions live in the services."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from campaigns import clock, rules
from campaigns.api.fields import money_field, validate_timezone
from campaigns.ledger import format_amount
from campaigns.models import Brand, Campaign, StatusChange

CURRENCY_CODES = frozenset(
    [
        "AED",
        "AFN",
        "ALL",
        "AMD",
        "ANG",
        "AOA",
        "ARS",
        "AUD",
        "AWG",
        "AZN",
        "BAM",
        "BBD",
        "BDT",
        "BGN",
        "BHD",
        "BIF",
        "BMD",
        "BND",
        "BOB",
        "BRL",
        "BSD",
        "BTN",
        "BWP",
        "BYN",
        "BZD",
        "CAD",
        "CDF",
        "CHF",
        "CLP",
        "CNY",
        "COP",
        "CRC",
        "CUP",
        "CVE",
        "CZK",
        "DJF",
        "DKK",
        "DOP",
        "DZD",
        "EGP",
        "ERN",
        "ETB",
        "EUR",
        "FJD",
        "FKP",
        "GBP",
        "GEL",
        "GHS",
        "GIP",
        "GMD",
        "GNF",
        "GTQ",
        "GYD",
        "HKD",
        "HNL",
        "HTG",
        "HUF",
        "IDR",
        "ILS",
        "INR",
        "IQD",
        "IRR",
        "ISK",
        "JMD",
        "JOD",
        "JPY",
        "KES",
        "KGS",
        "KHR",
        "KMF",
        "KPW",
        "KRW",
        "KWD",
        "KYD",
        "KZT",
        "LAK",
        "LBP",
        "LKR",
        "LRD",
        "LSL",
        "LYD",
        "MAD",
        "MDL",
        "MGA",
        "MKD",
        "MMK",
        "MNT",
        "MOP",
        "MRU",
        "MUR",
        "MVR",
        "MWK",
        "MXN",
        "MYR",
        "MZN",
        "NAD",
        "NGN",
        "NIO",
        "NOK",
        "NPR",
        "NZD",
        "OMR",
        "PAB",
        "PEN",
        "PGK",
        "PHP",
        "PKR",
        "PLN",
        "PYG",
        "QAR",
        "RON",
        "RSD",
        "RUB",
        "RWF",
        "SAR",
        "SBD",
        "SCR",
        "SDG",
        "SEK",
        "SGD",
        "SHP",
        "SLE",
        "SOS",
        "SRD",
        "SSP",
        "STN",
        "SVC",
        "SYP",
        "SZL",
        "THB",
        "TJS",
        "TMT",
        "TND",
        "TOP",
        "TRY",
        "TTD",
        "TWD",
        "TZS",
        "UAH",
        "UGX",
        "USD",
        "UYU",
        "UZS",
        "VES",
        "VND",
        "VUV",
        "WST",
        "XAF",
        "XCD",
        "XOF",
        "XPF",
        "YER",
        "ZAR",
        "ZMW",
        "ZWL",
    ]
)


class BrandSerializer(serializers.ModelSerializer[Brand]):
    timezone = serializers.CharField(validators=[validate_timezone])
    currency = serializers.CharField(default="USD")
    daily_budget = money_field()
    monthly_budget = money_field()

    class Meta:
        model = Brand
        fields = ["id", "name", "timezone", "currency", "daily_budget", "monthly_budget"]

    def validate_currency(self, value: str) -> str:
        if value.upper() not in CURRENCY_CODES:
            raise serializers.ValidationError(f"Not an ISO 4217 currency code: {value!r}.")
        return value.upper()


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
        return _minutes(value, allow_24=False)

    def validate_end(self, value: str) -> int:
        return _minutes(value, allow_24=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["start"] == attrs["end"]:
            raise serializers.ValidationError({"end": "A window cannot start and end together."})
        return attrs


def _minutes(value: str, *, allow_24: bool) -> int:
    try:
        return clock.parse_hhmm(value, allow_24=allow_24)
    except ValueError as exc:
        raise serializers.ValidationError(f"Expected HH:MM, got {value!r}.") from exc


class ScheduleSerializer(serializers.Serializer[dict[str, Any]]):
    windows = serializers.ListField(child=WindowSerializer(), max_length=200)


class HistorySerializer(serializers.Serializer[StatusChange]):
    """`{"at", "from", "to", "reasons", "cause"}`: `from` is a Python keyword, hence get_fields."""

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        return {
            "at": serializers.DateTimeField(),
            "from": serializers.CharField(source="from_status"),
            "to": serializers.CharField(source="to_status"),
            "reasons": serializers.ListField(child=serializers.CharField()),
            "cause": serializers.CharField(),
        }


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

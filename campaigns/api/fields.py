"""Parsing of the API's own value types: instants with an offset, money, wall-clock times."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from campaigns import clock
from campaigns.currencies import CURRENCY_CODES
from campaigns.models import (
    MAX_ALERT_THRESHOLDS,
    validate_alert_thresholds,
    validate_currency,
    validate_timezone_name,
)
from saas.errors import InvalidInput

T = TypeVar("T")

MAX_FUTURE = timedelta(minutes=5)
# Instants the API accepts: the day, month and window arithmetic of any zone stays inside
# Python's years 1 to 9999 (beyond them `astimezone` and date steps overflow: was a 500).
EARLIEST_INSTANT = datetime(1900, 1, 1, tzinfo=UTC)
LATEST_INSTANT = datetime(9999, 1, 1, tzinfo=UTC)
# Decimal text as JSON writes numbers: Decimal() alone also reads "1_000" and "٣" (Arabic 3).
DECIMAL_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
NON_FINITE_TEXT = frozenset(["nan", "snan", "inf", "infinity"])
UNSTORABLE_CHARACTER = re.compile("[\x00\ud800-\udfff]")
# RFC 3339's profile of ISO 8601: extended date and time, `T` (or a space), an offset in hours
# and minutes. Python reads more (basic formats, seconds in offsets, any separator, NULs).
INSTANT_TEXT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?"
    r"(?:Z|[+-][0-9]{2}:?[0-9]{2})")


def parse_instant(value: Any) -> datetime:
    """ISO 8601 with an offset; an instant without one is ambiguous and refused."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("Expected an ISO 8601 instant with an offset, e.g. 2026-03-01T12:00:00Z.")
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"Not a valid ISO 8601 instant: {value!r}.") from exc
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError("The instant has no offset: add Z or +HH:MM.")
    if not INSTANT_TEXT.fullmatch(text):
        raise ValueError(f"Not an instant of the form 2026-03-01T12:00:00+01:00: {value!r}.")
    if not EARLIEST_INSTANT <= parsed < LATEST_INSTANT:
        raise ValueError("The instant must be from 1900-01-01T00:00:00Z to before "
                         "9999-01-01T00:00:00Z.")
    return parsed


def parse_field(name: str, value: Any, parse: Callable[[Any], T]) -> T:
    """`parse(value)`, or a 400 naming the field `name` with parse's message."""
    try:
        return parse(value)
    except ValueError as exc:
        raise InvalidInput({name: [str(exc)]}) from exc


def storable_text(value: str) -> str:
    """`value` if PostgreSQL can store it as text: no NUL character and no lone surrogate.

    Serializer CharFields refuse both already; text parsed by hand (the spend path) comes here.
    """
    bad = UNSTORABLE_CHARACTER.search(value)
    if bad is None:
        return value
    if bad.group() == "\x00":
        raise ValueError("Null characters are not allowed.")
    raise ValueError(f"Surrogate characters are not allowed: U+{ord(bad.group()):X}.")


def parse_amount(value: Any, *, places: int) -> Decimal:
    """A positive decimal with at most `places` decimals, read from its exact text."""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise ValueError("Expected a decimal number or a decimal string.")
    if isinstance(value, str) and value.strip().lower().lstrip("+-") in NON_FINITE_TEXT:
        raise ValueError("NaN and Infinity are not amounts.")
    if isinstance(value, str) and not DECIMAL_TEXT.fullmatch(value.strip()):
        raise ValueError(f"Not a decimal number: {value!r}.")
    try:
        amount = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation as exc:
        raise ValueError(f"Not a decimal number: {value!r}.") from exc
    if not amount.is_finite():
        raise ValueError("NaN and Infinity are not amounts.")
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -places:
        raise ValueError(f"At most {places} decimal places.")
    if amount.adjusted() >= 12:
        raise ValueError("Amount too large.")
    return amount


# What the schema promises is what the fields accept: generated clients (and schemathesis,
# fuzzing from the schema) rely on it.
MONEY_PATTERN = r"^[0-9]{1,12}(\.[0-9]{1,2})?$"


@extend_schema_field({"type": "string", "enum": sorted(clock.known_zones()),
                      "description": "IANA name of a region, or UTC."})
class TimezoneField(serializers.CharField):
    """A brand's zone: the model's validator decides (`localtime`, `Factory`, `EST`: refused)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(validators=[validate_timezone_name], **kwargs)


@extend_schema_field({"type": "string", "enum": sorted(CURRENCY_CODES),
                      "description": "ISO 4217 code; lower case is read as upper case."})
class CurrencyField(serializers.CharField):
    """A currency code as the model stores it: "eur" is EUR; the model's validator decides."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(validators=[validate_currency], **kwargs)

    def to_internal_value(self, data: Any) -> str:
        return str(super().to_internal_value(data)).upper()


@extend_schema_field({"type": "string", "format": "decimal", "pattern": MONEY_PATTERN,
                      "example": "150.00"})
class MoneyField(serializers.DecimalField):
    """DRF's DecimalField on plain decimal text only, and "-0" read as 0 (not "-0.00")."""

    def to_internal_value(self, data: Any) -> Decimal:
        if isinstance(data, str) and not DECIMAL_TEXT.fullmatch(data.strip()):
            self.fail("invalid")
        value: Decimal = super().to_internal_value(data)
        return value + 0 if value.is_zero() else value


def money_field(**kwargs: Any) -> serializers.DecimalField:
    """A budget: at most 2 decimals, never negative, null for no cap."""
    return MoneyField(
        max_digits=14, decimal_places=2, min_value=Decimal("0"), allow_null=True,
        required=False, **kwargs,
    )


@extend_schema_field({"type": "array", "maxItems": MAX_ALERT_THRESHOLDS, "uniqueItems": True,
                      "items": {"type": "integer", "minimum": 1, "maximum": 100},
                      "description": "Percentages of each budget, each once; stored in "
                                     "increasing order.",
                      "example": [80, 100]})
class AlertThresholdsField(serializers.ListField):
    """A brand's alert thresholds, put in increasing order (the order their events come in);
    the model's validator decides the rest (1 to 100, each once)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(child=serializers.IntegerField(min_value=1, max_value=100),
                         max_length=MAX_ALERT_THRESHOLDS,
                         validators=[validate_alert_thresholds], **kwargs)

    def to_internal_value(self, data: Any) -> list[int]:
        return sorted(super().to_internal_value(data))

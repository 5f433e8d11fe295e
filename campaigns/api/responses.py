"""The shapes of the read-only answers that views build as plain dicts (status, what-if), for
the OpenAPI schema only: generated clients get typed objects instead of bare `object`s."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


def money_text(*, nullable: bool = False) -> serializers.CharField:
    """Money as the API writes it: text with two decimals, never negative."""
    return serializers.CharField(allow_null=nullable, help_text="Money, e.g. \"150.00\".")


class _Documented(serializers.Serializer[dict[str, Any]]):
    # Never used to read or write: it only describes a response. (A comment, not a docstring:
    # drf-spectacular would give every subclass without one of its own this text.)
    pass


class BrandSpend(_Documented):
    """The brand's spend in its local day and month containing `at`."""

    today = money_text()
    month = money_text()


class BrandRemaining(_Documented):
    """What is left of the brand's caps."""

    daily = money_text(nullable=True)
    monthly = money_text(nullable=True)


class CampaignCounts(_Documented):
    """The brand's campaigns by whether they may run at `at`."""

    active = serializers.IntegerField(min_value=0)
    paused = serializers.IntegerField(min_value=0)


class BrandStatusResponse(_Documented):
    """A brand's spend against its caps at `at` (now, or the `?at=` what-if)."""

    brand = serializers.IntegerField()
    local_time = serializers.DateTimeField(help_text="`at` in the brand's zone, with its offset.")
    spend = BrandSpend()
    remaining = BrandRemaining(help_text="Null where there is no cap; never below \"0.00\".")
    campaigns = CampaignCounts(help_text="How many of its campaigns may run at `at`.")


"""The shapes of the read-only answers that views build as plain dicts (status, what-if), for
the OpenAPI schema only: generated clients get typed objects instead of bare `object`s."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from campaigns import pacing, rules
from campaigns.models import Status


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


def reasons_list(help_text: str) -> serializers.ListField:
    return serializers.ListField(child=serializers.ChoiceField(choices=rules.REASONS_ORDER),
                                 help_text=help_text)


class CampaignSpend(_Documented):
    """Spend in the brand's local day and month containing `at`."""

    campaign_today = money_text()
    campaign_month = money_text()
    brand_today = money_text()
    brand_month = money_text()


class CampaignRemaining(_Documented):
    """What is left of each cap: null where there is no cap, never below "0.00"."""

    campaign_daily = money_text(nullable=True)
    campaign_monthly = money_text(nullable=True)
    brand_daily = money_text(nullable=True)
    brand_monthly = money_text(nullable=True)


class Forecast(_Documented):
    """When spend at today's rate so far reaches each daily cap, with the brand's offset."""

    campaign_daily = serializers.DateTimeField(
        allow_null=True,
        help_text="Today's campaign spend over the time since the local day began (with "
                  "dayparting, over the scheduled time passed) reaches the campaign's daily "
                  "cap; null without a cap or spend, once it is used up, or when not before "
                  "the local day ends.")
    brand_daily = serializers.DateTimeField(
        allow_null=True, help_text="The same for the brand's spend and daily cap.")


class Pace(_Documented):
    """The flight's spend against the line its lifetime budget follows when spent evenly."""

    expected = money_text(nullable=True)
    ratio = serializers.CharField(
        allow_null=True,
        help_text="spent / expected as decimal text with four places (\"0.9750\"): like "
                  "money, never a JSON number. Null while expected is 0, or without a lifetime "
                  "budget.")
    state = serializers.ChoiceField(
        choices=[pacing.ON_PACE, pacing.BEHIND, pacing.AHEAD], allow_null=True,
        help_text="on_pace while |ratio - 1| is within a band narrowing from 0.25 at the "
                  "flight's start to 0.01 at its end; null without a lifetime budget or before "
                  "the start.")
    projected_total = money_text(nullable=True)


class FlightStatus(_Documented):
    """A flight at `at`: its spend, what is left, today's allowance and its pace."""

    start_date = serializers.DateField()
    end_date = serializers.DateField()
    lifetime_budget = money_text(nullable=True)
    spent = money_text()
    remaining = money_text(nullable=True)
    allowance_today = money_text(nullable=True)
    pace = Pace()


class Evaluation(_Documented):
    """The rules' verdict at `at`, with the figures that explain it."""

    at = serializers.DateTimeField()
    local_time = serializers.DateTimeField(help_text="`at` in the brand's zone, with its offset.")
    can_run = serializers.BooleanField()
    reasons = reasons_list("Everything that stops the campaign at `at`.")
    in_window = serializers.BooleanField()
    spend = CampaignSpend()
    remaining = CampaignRemaining()
    forecast = Forecast()
    flight = FlightStatus(allow_null=True, help_text="Null for a campaign without dates.")


class CampaignStatusResponse(_Documented):
    """A campaign's stored status, and the rules' evaluation at `at` (a what-if: changes
    nothing)."""

    campaign = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Status.choices, help_text="As stored.")
    pause_reasons = reasons_list("As stored.")
    evaluation = Evaluation()

"""Writes to brands, campaigns and schedules. Each edit re-decides the affected campaigns at
once (cause `edit`) in the same transaction, under the brand's lock."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import transaction

from campaigns import clock, ledger, status
from campaigns.models import Brand, Campaign, Cause, ScheduleWindow, Spend
from saas.errors import Conflict, InvalidInput


class HasSpend(Conflict):
    """Deleting this would lose recorded spend: the ledger is never lost."""


class BrandIsFixed(InvalidInput):
    """A campaign stays with the brand it was made for: its spend is in that brand's zone and
    under that brand's caps."""

    def __init__(self) -> None:
        super().__init__({"brand": ["A campaign cannot move to another brand."]})


def create_brand(data: dict[str, Any]) -> Brand:
    with transaction.atomic():
        return Brand.objects.create(**data)


def update_brand(brand: Brand, data: dict[str, Any], *, now: datetime) -> Brand:
    """A new time zone moves the brand's recorded spend to the local days and months of that
    zone (`ledger.rekey_brand`) before the campaigns are decided again."""
    with transaction.atomic():
        stored = status.lock_brands([brand.pk])  # the zone as it is now, not as `brand` read it
        zone = stored[0].timezone if stored else brand.timezone
        new_zone = "timezone" in data and data["timezone"] != zone
        for name, value in data.items():
            setattr(brand, name, value)
        brand.save(update_fields=list(data))  # only what was edited: no stale columns written
        if new_zone:
            ledger.rekey_brand(brand.pk, brand.timezone)
        status.decide_locked(now, cause=Cause.EDIT, brand_ids=[brand.pk])
    return brand


def delete_brand(brand: Brand) -> None:
    with transaction.atomic():
        status.lock_brands([brand.pk])
        if _brand_has_spend(brand):
            raise HasSpend("This brand has recorded spend; it cannot be deleted.")
        brand.delete()


def _brand_has_spend(brand: Brand) -> bool:
    return Spend.objects.filter(campaign__brand_id=brand.pk).exists()


def create_campaign(data: dict[str, Any], *, now: datetime) -> Campaign:
    with transaction.atomic():
        brands = status.lock_brands([data["brand"].pk])
        campaign = Campaign.objects.create(**data)
        status.decide_brands(now, cause=Cause.EDIT, brands=brands)
    campaign.refresh_from_db()
    return campaign


def update_campaign(campaign: Campaign, data: dict[str, Any], *, now: datetime) -> Campaign:
    """Edit the given fields and decide the brand again. Naming the campaign's own brand is no
    change; another brand is refused (BrandIsFixed)."""
    if "brand" in data:
        brand = data.pop("brand")
        if getattr(brand, "pk", brand) != campaign.brand_id:
            raise BrandIsFixed
    with transaction.atomic():
        brands = status.lock_brands([campaign.brand_id])
        Campaign.objects.filter(pk=campaign.pk).update(**data)
        status.decide_brands(now, cause=Cause.EDIT, brands=brands)
    campaign.refresh_from_db()
    return campaign


def delete_campaign(campaign: Campaign) -> None:
    with transaction.atomic():
        status.lock_brands([campaign.brand_id])
        if Spend.objects.filter(campaign_id=campaign.pk).exists():
            raise HasSpend("This campaign has recorded spend; it cannot be deleted.")
        campaign.delete()


def set_schedule(campaign: Campaign, windows: Sequence[clock.Window], *, now: datetime) -> None:
    with transaction.atomic():
        brands = status.lock_brands([campaign.brand_id])
        ScheduleWindow.objects.filter(campaign_id=campaign.pk).delete()
        ScheduleWindow.objects.bulk_create(
            ScheduleWindow(campaign_id=campaign.pk, day_of_week=w.day_of_week,
                           start_minute=w.start, end_minute=w.end)
            for w in windows
        )
        status.decide_brands(now, cause=Cause.EDIT, brands=brands)


def set_manual_pause(campaign: Campaign, paused: bool, *, now: datetime) -> Campaign:
    """The user's own switch: pause adds `manual`, resume removes it; nothing else does."""
    with transaction.atomic():
        brands = status.lock_brands([campaign.brand_id])
        Campaign.objects.filter(pk=campaign.pk).update(manual_paused=paused)
        status.decide_brands(now, cause=Cause.MANUAL, brands=brands)
    campaign.refresh_from_db()
    return campaign

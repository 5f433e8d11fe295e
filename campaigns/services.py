"""Writes to brands, campaigns and schedules. Each edit re-decides the affected campaigns at
once (cause `edit`) in the same transaction, under the brand's lock, and is recorded in the
audit log with its actor in that transaction too; the history rows name that actor, and the
decision's events are recorded last (`status.publish`), just before the commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from audit.log import Actor, changes_between, record
from audit.models import Action, ObjectType
from campaigns import clock, ledger, status
from campaigns.models import Brand, Campaign, Cause, ScheduleWindow, Spend, validate_flight
from saas.errors import Conflict, InvalidInput

# The fields the audit log follows: the API's own, as the models name them.
BRAND_FIELDS = ("name", "timezone", "currency", "daily_budget", "monthly_budget",
                "alert_thresholds")
CAMPAIGN_FIELDS = ("brand", "name", "daily_budget", "monthly_budget", "dayparting", "start_date",
                   "end_date", "lifetime_budget", "pacing")


class HasSpend(Conflict):
    """Deleting this would lose recorded spend: the ledger is never lost."""


class BrandIsFixed(InvalidInput):
    """A campaign stays with the brand it was made for: its spend is in that brand's zone and
    under that brand's caps."""

    def __init__(self) -> None:
        super().__init__({"brand": ["A campaign cannot move to another brand."]})


def fields_of(obj: Any, names: Sequence[str]) -> dict[str, Any]:
    return {name: getattr(obj, f"{name}_id" if name == "brand" else name) for name in names}


def create_brand(data: dict[str, Any], *, actor: Actor, now: datetime) -> Brand:
    with transaction.atomic():
        brand = Brand.objects.create(**data)
        record(actor, Action.CREATE, ObjectType.BRAND, brand.pk, at=now,
               changes=changes_between({}, fields_of(brand, BRAND_FIELDS)))
        return brand


def update_brand(brand: Brand, data: dict[str, Any], *, actor: Actor, now: datetime) -> Brand:
    """A new time zone moves the brand's recorded spend to the local days and months of that
    zone (`ledger.rekey_brand`) before the campaigns are decided again."""
    with transaction.atomic():
        status.lock_brands([brand.pk])
        stored = Brand.objects.get(pk=brand.pk)  # as locked, not as `brand` was read
        before = fields_of(stored, BRAND_FIELDS)
        for name, value in data.items():
            setattr(brand, name, value)
        brand.save(update_fields=list(data))  # only what was edited: no stale columns written
        if "timezone" in data and data["timezone"] != stored.timezone:
            ledger.rekey_brand(brand.pk, brand.timezone)
        decision = status.decide_locked(now, cause=Cause.EDIT, brand_ids=[brand.pk],
                                        actor=actor)
        changes = changes_between(before, {**before, **fields_of(brand, list(data))})
        if changes:
            record(actor, Action.UPDATE, ObjectType.BRAND, brand.pk, at=now, changes=changes)
        status.publish(decision)
    return brand


def delete_brand(brand: Brand, *, actor: Actor, now: datetime) -> None:
    with transaction.atomic():
        status.lock_brands([brand.pk])
        if Spend.objects.filter(campaign__brand_id=brand.pk).exists():
            raise HasSpend("This brand has recorded spend; it cannot be deleted.")
        brand_id, before = brand.pk, fields_of(brand, BRAND_FIELDS)
        brand.delete()
        record(actor, Action.DELETE, ObjectType.BRAND, brand_id, at=now,
               changes=changes_between(before, {}))


def create_campaign(data: dict[str, Any], *, actor: Actor, now: datetime) -> Campaign:
    with transaction.atomic():
        brands = status.lock_brands([data["brand"].pk])
        campaign = Campaign.objects.create(**data)
        decision = status.decide_brands(now, cause=Cause.EDIT, brands=brands, actor=actor)
        record(actor, Action.CREATE, ObjectType.CAMPAIGN, campaign.pk, at=now,
               changes=changes_between({}, fields_of(campaign, CAMPAIGN_FIELDS)))
        status.publish(decision)
    campaign.refresh_from_db()
    return campaign


def update_campaign(campaign: Campaign, data: dict[str, Any], *, actor: Actor,
                    now: datetime) -> Campaign:
    """Edit the given fields and decide the brand again. Naming the campaign's own brand is no
    change; another brand is refused (BrandIsFixed)."""
    data = dict(data)
    if "brand" in data:
        brand = data.pop("brand")
        if getattr(brand, "pk", brand) != campaign.brand_id:
            raise BrandIsFixed
    with transaction.atomic():
        brands = status.lock_brands([campaign.brand_id])
        before = fields_of(Campaign.objects.get(pk=campaign.pk), CAMPAIGN_FIELDS)
        _check_flight({**before, **data})
        Campaign.objects.filter(pk=campaign.pk).update(**data)
        decision = status.decide_brands(now, cause=Cause.EDIT, brands=brands, actor=actor)
        changes = changes_between(before, {**before, **data})
        if changes:
            record(actor, Action.UPDATE, ObjectType.CAMPAIGN, campaign.pk, at=now,
                   changes=changes)
        status.publish(decision)
    campaign.refresh_from_db()
    return campaign


def _check_flight(fields: dict[str, Any]) -> None:
    """The flight as it will be stored, merged under the brand's lock with the row as it is
    now: two edits that are each valid on what they read (one drops the dates, the other
    sets even pacing) cannot store an invalid flight together (that was a constraint error)."""
    try:
        validate_flight(fields["start_date"], fields["end_date"], fields["lifetime_budget"],
                        fields["pacing"])
    except ValidationError as exc:
        raise InvalidInput(exc.message_dict) from exc


def delete_campaign(campaign: Campaign, *, actor: Actor, now: datetime) -> None:
    with transaction.atomic():
        status.lock_brands([campaign.brand_id])
        if Spend.objects.filter(campaign_id=campaign.pk).exists():
            raise HasSpend("This campaign has recorded spend; it cannot be deleted.")
        campaign_id, before = campaign.pk, fields_of(campaign, CAMPAIGN_FIELDS)
        campaign.delete()
        record(actor, Action.DELETE, ObjectType.CAMPAIGN, campaign_id, at=now,
               changes=changes_between(before, {}))


def windows_shown(windows: Sequence[clock.Window]) -> list[dict[str, Any]]:
    """Windows as the schedule endpoint shows them."""
    return [{"day_of_week": w.day_of_week, "start": clock.format_hhmm(w.start),
             "end": clock.format_hhmm(w.end)}
            for w in sorted(windows, key=lambda w: (w.day_of_week, w.start, w.end))]


def stored_windows(campaign_id: int) -> list[clock.Window]:
    rows = ScheduleWindow.objects.filter(campaign_id=campaign_id).values_list(
        "day_of_week", "start_minute", "end_minute")
    return [clock.Window(*row) for row in rows]


def set_schedule(campaign: Campaign, windows: Sequence[clock.Window], *, actor: Actor,
                 now: datetime) -> None:
    """Replace the campaign's windows: one schedule change in the audit log, however many."""
    with transaction.atomic():
        brands = status.lock_brands([campaign.brand_id])
        before = windows_shown(stored_windows(campaign.pk))
        ScheduleWindow.objects.filter(campaign_id=campaign.pk).delete()
        ScheduleWindow.objects.bulk_create(
            ScheduleWindow(campaign_id=campaign.pk, day_of_week=w.day_of_week,
                           start_minute=w.start, end_minute=w.end)
            for w in windows
        )
        decision = status.decide_brands(now, cause=Cause.EDIT, brands=brands, actor=actor)
        after = windows_shown(windows)
        if before != after:
            record(actor, Action.UPDATE, ObjectType.SCHEDULE, campaign.pk, at=now,
                   changes={"windows": [before, after]})
        status.publish(decision)


def set_manual_pause(campaign: Campaign, paused: bool, *, actor: Actor,
                     now: datetime) -> Campaign:
    """The user's own switch: pause adds `manual`, resume removes it; nothing else does."""
    with transaction.atomic():
        brands = status.lock_brands([campaign.brand_id])
        Campaign.objects.filter(pk=campaign.pk).update(manual_paused=paused)
        decision = status.decide_brands(now, cause=Cause.MANUAL, brands=brands, actor=actor)
        record(actor, Action.PAUSE if paused else Action.RESUME, ObjectType.CAMPAIGN,
               campaign.pk, at=now)
        status.publish(decision)
    campaign.refresh_from_db()
    return campaign

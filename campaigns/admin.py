"""The agency's own admin. Status is read-only here: edits go through the same services as the
API, so they re-decide the campaign at once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from audit.log import Actor
from campaigns import clock, services
from campaigns.models import (
    Brand,
    Campaign,
    ScheduleWindow,
    Spend,
    StatusChange,
    validate_window,
)
from saas.db import connection


class TenantOnlyAdmin(admin.ModelAdmin):
    """Budget data exists only in agency schemas, never on the public host's admin."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return not on_public_host() and super().has_module_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not on_public_host() and super().has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not on_public_host() and super().has_add_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not on_public_host() and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not on_public_host() and super().has_delete_permission(request, obj)


def on_public_host() -> bool:
    return bool(connection.schema_name == settings.PUBLIC_SCHEMA_NAME)


def edit_context(request: HttpRequest) -> dict[str, Any]:
    """Who acts, and when: what every service that changes something is given."""
    return {"actor": Actor.user(request.user), "now": timezone.now()}


class EditThroughServices(TenantOnlyAdmin):
    """Adds, edits and deletes go through campaigns.services, under the brand's lock and into
    the audit log, as the API's do; an object with recorded spend cannot be deleted."""

    fields_edited: tuple[str, ...] = ()

    def edited(self, form: Any, change: bool) -> dict[str, Any]:
        names = form.changed_data if change else self.fields_edited
        return {name: form.cleaned_data[name] for name in names if name in form.cleaned_data}

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and self.has_spend(obj):
            return False
        return super().has_delete_permission(request, obj)

    def has_spend(self, obj: Any) -> bool:
        raise NotImplementedError

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(Brand)
class BrandAdmin(EditThroughServices):
    list_display = ["name", "timezone", "currency", "daily_budget", "monthly_budget"]
    search_fields = ["name"]
    fields_edited = services.BRAND_FIELDS

    def save_model(self, request: HttpRequest, obj: Brand, form: Any, change: bool) -> None:
        data = self.edited(form, change)
        if change:
            services.update_brand(Brand.objects.get(pk=obj.pk), data, **edit_context(request))
        else:
            form.instance = services.create_brand(data, **edit_context(request))
            obj.pk = form.instance.pk

    def delete_model(self, request: HttpRequest, obj: Brand) -> None:
        try:
            services.delete_brand(obj, **edit_context(request))
        except services.HasSpend as exc:
            messages.error(request, str(exc))

    def has_spend(self, obj: Brand) -> bool:
        return Spend.objects.filter(campaign__brand_id=obj.pk).exists()


DAY_CHOICES = [(0, "Monday"), (1, "Tuesday"), (2, "Wednesday"), (3, "Thursday"),
               (4, "Friday"), (5, "Saturday"), (6, "Sunday")]


class WindowForm(forms.ModelForm):
    """A window as the API writes it: wall-clock "HH:MM" in the brand's zone, "24:00" or
    "00:00" for the midnight that ends the day, parsed and validated by the same functions."""

    day_of_week = forms.TypedChoiceField(choices=DAY_CHOICES, coerce=int)
    start = forms.CharField(max_length=5, help_text="HH:MM")
    end = forms.CharField(max_length=5, help_text="HH:MM; 24:00 or 00:00 is midnight")

    class Meta:
        model = ScheduleWindow
        fields = ["day_of_week"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.initial["start"] = clock.format_hhmm(self.instance.start_minute)
            self.initial["end"] = clock.format_hhmm(self.instance.end_minute)

    def clean_start(self) -> int:
        return _minutes(self.cleaned_data["start"], clock.parse_hhmm_start)

    def clean_end(self) -> int:
        return _minutes(self.cleaned_data["end"], clock.parse_window_end)

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        if self.data.get(self.add_prefix("start")) == self.data.get(self.add_prefix("end")):
            raise ValidationError("A window cannot start and end together.")
        if {"day_of_week", "start", "end"} <= set(cleaned):
            self.instance.start_minute, self.instance.end_minute = cleaned["start"], cleaned["end"]
            validate_window(cleaned["day_of_week"], cleaned["start"], cleaned["end"])
        return cleaned


def _minutes(text: str, parse: Callable[[str], int]) -> int:
    try:
        return parse(text)
    except ValueError as exc:
        raise ValidationError(f"Expected HH:MM, got {text!r}.") from exc


class WindowInline(admin.TabularInline):
    model = ScheduleWindow
    form = WindowForm
    extra = 0


@admin.register(Campaign)
class CampaignAdmin(EditThroughServices):
    list_display = ["name", "brand", "status", "pause_reasons", "daily_budget", "monthly_budget",
                    "dayparting"]
    list_filter = ["status", "brand"]
    search_fields = ["name"]
    readonly_fields = ["status", "pause_reasons", "status_changed_at", "manual_paused"]
    actions = ["pause", "resume"]
    fields_edited = services.CAMPAIGN_FIELDS

    inlines = [WindowInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # As in the API, a campaign does not move to another brand.
        return [*self.readonly_fields, *(["brand"] if obj is not None else [])]

    def save_model(self, request: HttpRequest, obj: Campaign, form: Any, change: bool) -> None:
        """Edits go through the service (under the brand's lock, only the edited columns):
        a whole-row save would write back a status read without the lock."""
        data = self.edited(form, change)
        if change:
            data.pop("brand", None)
            services.update_campaign(Campaign.objects.get(pk=obj.pk), data,
                                     **edit_context(request))
        else:
            form.instance = services.create_campaign(data, **edit_context(request))
            obj.pk = form.instance.pk

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        """The windows inline replaces the schedule through the service, as PUT schedule does:
        one schedule change, decided at once."""
        if formset.model is not ScheduleWindow:
            super().save_formset(request, form, formset, change)
            return
        formset.save(commit=False)  # writes nothing; keeps what the admin's change log lists
        windows = [clock.Window(row["day_of_week"], row["start"], row["end"])
                   for row in formset.cleaned_data if row and not row.get("DELETE")]
        services.set_schedule(form.instance, windows, **edit_context(request))

    def delete_model(self, request: HttpRequest, obj: Campaign) -> None:
        try:
            services.delete_campaign(obj, **edit_context(request))
        except services.HasSpend as exc:
            messages.error(request, str(exc))

    def has_spend(self, obj: Campaign) -> bool:
        return Spend.objects.filter(campaign_id=obj.pk).exists()

    @admin.action(description="Pause (manual)")
    def pause(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        self._switch(request, queryset, paused=True)

    @admin.action(description="Resume (clear manual pause)")
    def resume(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        self._switch(request, queryset, paused=False)

    def _switch(self, request: HttpRequest, queryset: QuerySet[Campaign], *, paused: bool) -> None:
        campaigns = list(queryset)
        for campaign in campaigns:
            services.set_manual_pause(campaign, paused, **edit_context(request))
        messages.success(request, f"{len(campaigns)} campaigns updated.")


@admin.register(Spend)
class SpendAdmin(TenantOnlyAdmin):
    list_display = ["occurred_at", "campaign", "amount", "event_id"]
    list_filter = ["campaign__brand"]
    date_hierarchy = "occurred_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(StatusChange)
class StatusChangeAdmin(SpendAdmin):
    list_display = ["at", "campaign", "from_status", "to_status", "reasons", "cause"]
    list_filter = ["cause", "to_status"]
    date_hierarchy = "at"

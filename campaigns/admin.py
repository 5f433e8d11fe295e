"""The agency's own admin. Status is read-only here: edits go through the same services as the
API, so they re-decide the campaign at once."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from campaigns import services
from campaigns.models import Brand, Campaign, ScheduleWindow, Spend, StatusChange
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


@admin.register(Brand)
class BrandAdmin(TenantOnlyAdmin):
    list_display = ["name", "timezone", "currency", "daily_budget", "monthly_budget"]
    search_fields = ["name"]

    def save_model(self, request: HttpRequest, obj: Brand, form: Any, change: bool) -> None:
        if not change:
            super().save_model(request, obj, form, change)
            return
        data = {name: form.cleaned_data[name] for name in form.changed_data}
        services.update_brand(Brand.objects.get(pk=obj.pk), data, now=timezone.now())


class WindowInline(admin.TabularInline):
    model = ScheduleWindow
    extra = 0


@admin.register(Campaign)
class CampaignAdmin(TenantOnlyAdmin):
    list_display = ["name", "brand", "status", "pause_reasons", "daily_budget", "monthly_budget",
                    "dayparting"]
    list_filter = ["status", "brand"]
    search_fields = ["name"]
    readonly_fields = ["status", "pause_reasons", "status_changed_at", "manual_paused"]
    actions = ["pause", "resume"]

    inlines = [WindowInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # As in the API, a campaign does not move to another brand.
        return [*self.readonly_fields, *(["brand"] if obj is not None else [])]

    def save_model(self, request: HttpRequest, obj: Campaign, form: Any, change: bool) -> None:
        """Edits go through the service (under the brand's lock, only the edited columns):
        a whole-row save would write back a status read without the lock."""
        if not change:
            super().save_model(request, obj, form, change)
            return
        data = {name: form.cleaned_data[name] for name in form.changed_data}
        services.update_campaign(Campaign.objects.get(pk=obj.pk), data, now=timezone.now())

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Re-decide after the caps and windows are saved, through the services."""
        super().save_related(request, form, formsets, change)
        services.update_campaign(form.instance, {}, now=timezone.now())

    @admin.action(description="Pause (manual)")
    def pause(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        self._switch(request, queryset, paused=True)

    @admin.action(description="Resume (clear manual pause)")
    def resume(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        self._switch(request, queryset, paused=False)

    def _switch(self, request: HttpRequest, queryset: QuerySet[Campaign], *, paused: bool) -> None:
        for campaign in queryset:
            services.set_manual_pause(campaign, paused, now=timezone.now())
        messages.success(request, f"{queryset.count()} campaigns updated.")


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

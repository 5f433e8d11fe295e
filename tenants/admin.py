"""The platform operator's view of the agency registry, on the public host's admin only.

Agencies, domains and tokens live in the public schema, which is on every tenant's search
path: without the public-host check below, an agency's superuser would see every agency in
its own admin.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django_celery_beat import admin as beat_admin
from django_celery_beat import models as beat
from django_tenants.admin import TenantAdminMixin
from django_tenants.utils import schema_context

from audit.log import Actor
from saas.db import connection
from tenants import services
from tenants.models import Agency, ApiToken, Domain


def on_public_host() -> bool:
    return bool(connection.schema_name == settings.PUBLIC_SCHEMA_NAME)


class PublicHostOnlyAdmin(admin.ModelAdmin):
    """Visible and usable only in the public host's admin."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return on_public_host() and super().has_module_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return on_public_host() and super().has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return on_public_host() and super().has_add_permission(request, *args)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return on_public_host() and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return on_public_host() and super().has_delete_permission(request, obj)


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not (obj is not None and obj.is_platform) and super().has_change_permission(
            request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not (obj is not None and obj.is_platform) and super().has_delete_permission(
            request, obj)


@admin.register(Agency)
class AgencyAdmin(TenantAdminMixin, PublicHostOnlyAdmin):
    list_display = ["name", "slug", "primary_domain", "created_at"]
    search_fields = ["name", "slug", "domains__domain"]
    readonly_fields = ["schema_name", "created_at"]
    inlines = [DomainInline]

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).prefetch_related("domains")

    @admin.display(description="domain")
    def primary_domain(self, agency: Agency) -> str:
        domains = [d.domain for d in agency.domains.all() if d.is_primary]
        return domains[0] if domains else "-"

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # The slug names the schema; it cannot change once the schema exists.
        return [*self.readonly_fields, "slug"] if obj else self.readonly_fields

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        # An agency is made by signup (tenants.services): its schema, first user and token,
        # with the slug rules. The form here would make a row without any of them.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Deleting the platform's own tenant would drop the public schema.
        if obj is not None and obj.is_platform:
            return False
        return super().has_delete_permission(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for agency in queryset.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME):
            agency.delete()


@admin.register(Domain)
class DomainAdmin(PublicHostOnlyAdmin):
    list_display = ["domain", "tenant", "is_primary"]
    search_fields = ["domain", "tenant__slug"]
    list_select_related = ["tenant"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not _is_platform_domain(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not _is_platform_domain(obj) and super().has_delete_permission(request, obj)


def _is_platform_domain(domain: Domain | None) -> bool:
    """`BASE_DOMAIN` itself: without it the public host (signup, the operator's admin) is gone."""
    return domain is not None and domain.domain == settings.BASE_DOMAIN


@admin.register(ApiToken)
class ApiTokenAdmin(PublicHostOnlyAdmin):
    """Tokens can be looked at and revoked, never created or read back here."""

    list_display = ["name", "prefix", "agency", "scopes", "created_at", "last_used_at",
                    "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix", "agency__slug"]
    list_select_related = ["agency"]
    fields = ["agency", "name", "prefix", "scopes", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["agency", "name", "prefix", "scopes", "created_at", "last_used_at",
                       "revoked_at"]
    # Revoked only by the action below, through the service, so that it is in the agency's
    # audit log; and never un-revoked (a field left editable brought a revoked token back).
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False  # a token's plaintext must reach its owner: create tokens through the API

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        at, actor = timezone.now(), Actor.operator(request.user)
        revoked = 0
        for token in queryset.select_related("agency"):
            with schema_context(token.agency.schema_name):  # where its audit log is
                revoked += services.revoke_token(token.agency, token.pk, actor=actor, at=at)
        self.message_user(request, f"{revoked} tokens revoked.")


# django-celery-beat's schedule, like the registry above, lives only in the public schema, which is
# on every agency's search path: its admins are registered again, visible only on the public
# host (an agency's superuser deleting the dispatcher would stop every agency's jobs). Every
# other shared app's models are tenant apps too, each agency with its own tables. A test
# (tests/tenants/test_admin_and_pages.py) fails if a public-only model's admin is not guarded.
class PeriodicTaskAdmin(PublicHostOnlyAdmin, beat_admin.PeriodicTaskAdmin):
    pass


class ClockedScheduleAdmin(PublicHostOnlyAdmin, beat_admin.ClockedScheduleAdmin):
    pass


class CrontabScheduleAdmin(PublicHostOnlyAdmin, beat_admin.CrontabScheduleAdmin):
    pass


class SolarScheduleAdmin(PublicHostOnlyAdmin, beat_admin.SolarScheduleAdmin):
    pass


class IntervalScheduleAdmin(PublicHostOnlyAdmin, beat_admin.IntervalScheduleAdmin):
    pass


for model, model_admin in (
    (beat.PeriodicTask, PeriodicTaskAdmin),
    (beat.ClockedSchedule, ClockedScheduleAdmin),
    (beat.CrontabSchedule, CrontabScheduleAdmin),
    (beat.SolarSchedule, SolarScheduleAdmin),
    (beat.IntervalSchedule, IntervalScheduleAdmin),
):
    admin.site.unregister(model)  # registered by django_celery_beat.admin, imported above
    admin.site.register(model, model_admin)

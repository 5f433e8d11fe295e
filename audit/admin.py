"""The audit log in the agency's admin: to read, never to change (the database refuses too)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from audit.models import AuditEntry
from campaigns.admin import TenantOnlyAdmin


@admin.register(AuditEntry)
class AuditEntryAdmin(TenantOnlyAdmin):
    list_display = ["at", "actor_name", "actor_type", "action", "object_type", "object_id"]
    list_filter = ["action", "object_type", "actor_type"]
    search_fields = ["actor_name"]
    date_hierarchy = "at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

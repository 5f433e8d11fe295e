"""The audit log in the agency's admin: to read, never to change (the database refuses too)."""

from __future__ import annotations

from django.contrib import admin

from audit.models import AuditEntry
from campaigns.admin import RecordAdmin


@admin.register(AuditEntry)
class AuditEntryAdmin(RecordAdmin):
    list_display = ["at", "actor_name", "actor_type", "action", "object_type", "object_id"]
    list_filter = ["action", "object_type", "actor_type"]
    search_fields = ["actor_name"]
    date_hierarchy = "at"

"""Per agency, the earliest instant one of its webhook deliveries is due (public schema)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from tenants.markers import AgencyDueMarker


class DeliveryDue(AgencyDueMarker):
    """When the sweep must next look at an agency's deliveries; None: nothing pending.

    Only ever lowered by the transactions that schedule deliveries (LEAST, in the statement that
    schedules them) and raised only by the sweep, with a compare-and-set on `version` (every
    lowering increments it), so a delivery scheduled while the sweep looks is never forgotten.
    See `notifications.wakeups`.
    """

    class Meta:
        verbose_name = "delivery due"
        verbose_name_plural = "deliveries due"
        indexes = [
            # The dispatcher's one query: agencies whose earliest delivery is due.
            models.Index(fields=["due_at"], name="delivery_due_at",
                         condition=Q(due_at__isnull=False)),
        ]

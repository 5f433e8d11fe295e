"""Per agency, the earliest instant one of its webhook deliveries is due (public schema)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class DeliveryDue(models.Model):
    """When the sweep must next look at an agency's deliveries; None: nothing pending.

    Only ever lowered by the transactions that schedule deliveries (LEAST, in the statement that
    schedules them) and raised only by the sweep, with a compare-and-set on `version` (every
    lowering increments it), so a delivery scheduled while the sweep looks is never forgotten.
    See `notifications.wakeups`.
    """

    agency = models.OneToOneField(
        "tenants.Agency", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    due_at = models.DateTimeField(null=True, blank=True)
    version = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = "delivery due"
        verbose_name_plural = "deliveries due"
        indexes = [
            # The dispatcher's one query: agencies whose earliest delivery is due.
            models.Index(fields=["due_at"], name="delivery_due_at",
                         condition=Q(due_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"agency {self.agency_id}: due {self.due_at}"

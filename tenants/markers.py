"""Per agency, the earliest instant some periodic work is due: the shape behind
`campaigns_shared.PassDue` (budget passes) and `notifications_shared.DeliveryDue` (webhook
sweeps). Both live in the public schema, so one query finds every agency with work due."""

from __future__ import annotations

from datetime import datetime

from django.db import models


class AgencyDueMarker(models.Model):
    """`due_at` None: nothing due. Only lowered by the writers that schedule work (each lowering
    increments `version`) and raised only by the work itself, with a compare-and-set on
    `version`: it may be early, never late."""

    agency = models.OneToOneField(
        "tenants.Agency", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    due_at = models.DateTimeField(null=True, blank=True)
    version = models.BigIntegerField(default=0)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"agency {self.agency_id}: due {self.due_at}"

    @classmethod
    def due_schemas(cls, now: datetime) -> list[str]:
        """The schemas of the agencies due at `now`, earliest first: one query for all (the
        partial index on `due_at`)."""
        return list(cls._default_manager.filter(due_at__lte=now).order_by("due_at")
                    .values_list("agency__schema_name", flat=True))

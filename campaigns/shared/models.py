"""Per agency, the earliest instant one of its campaigns' evaluations can change (public schema)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class PassDue(models.Model):
    """When the dispatcher must next send this agency a pass; None: nothing can change by time
    alone (no campaigns).

    Only lowered by the decisions that move a campaign's `next_change_at` earlier (LEAST, and
    `version` incremented) and raised only by a pass, to the earliest `next_change_at` of all
    the agency's campaigns, with a compare-and-set on `version`. So it may be too early (a pass
    that finds nothing due), never too late. See `campaigns.due`.
    """

    agency = models.OneToOneField(
        "tenants.Agency", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    due_at = models.DateTimeField(null=True, blank=True)
    version = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = "pass due"
        verbose_name_plural = "passes due"
        indexes = [
            # The dispatcher's one query: agencies with a campaign due.
            models.Index(fields=["due_at"], name="pass_due_at",
                         condition=Q(due_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"agency {self.agency_id}: due {self.due_at}"

"""Per agency, the earliest instant one of its campaigns' evaluations can change (public schema)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from tenants.markers import AgencyDueMarker


class PassDue(AgencyDueMarker):
    """When the dispatcher must next send this agency a pass; None: nothing can change by time
    alone (no campaigns).

    Only lowered by the decisions that move a campaign's `next_change_at` earlier (LEAST, and
    `version` incremented) and raised only by a pass, to the earliest `next_change_at` of all
    the agency's campaigns, with a compare-and-set on `version`. So it may be too early (a pass
    that finds nothing due), never too late. See `campaigns.due`.
    """

    class Meta:
        verbose_name = "pass due"
        verbose_name_plural = "passes due"
        indexes = [
            # The dispatcher's one query: agencies with a campaign due.
            models.Index(fields=["due_at"], name="pass_due_at",
                         condition=Q(due_at__isnull=False)),
        ]

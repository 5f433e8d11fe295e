"""The only writer of spend: the ledger row, the local day and month totals, and the decision
that follows, all in one transaction so the spend that uses up a budget answers paused."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction

from campaigns import clock, selectors, status
from campaigns.models import Cause
from saas.db import connection


@dataclass(frozen=True)
class SpendEvent:
    """One spend as the client sent it; `occurred_at` None means "now"."""

    campaign_id: int
    amount: Decimal
    occurred_at: datetime | None
    event_id: str | None

    def fingerprint(self) -> str:
        """Same body, same fingerprint: what tells a retry from a different event."""
        canonical = {
            "campaign": self.campaign_id,
            "amount": format(self.amount.normalize(), "f"),
            "occurred_at": self.occurred_at.isoformat() if self.occurred_at else None,
        }
        return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()


class UnknownCampaign(Exception):
    pass


class EventConflict(Exception):
    """The event_id was used before with a different body."""


@dataclass(frozen=True)
class Recorded:
    body: dict[str, Any]
    created: bool  # False: a retry, answered with the first response


def format_amount(amount: Decimal) -> str:
    """Money as text: at least two decimals, more only where the amount has them."""
    if amount == amount.quantize(Decimal("0.01")):
        return str(amount.quantize(Decimal("0.01")))
    return format(amount.normalize(), "f")


LOCK_SQL = """
SELECT b.id, b.timezone FROM campaigns_campaign c
JOIN campaigns_brand b ON b.id = c.brand_id
WHERE c.id = %s FOR UPDATE OF b
"""
INSERT_SQL = """
INSERT INTO campaigns_spend
    (campaign_id, amount, occurred_at, local_day, event_id, request_hash, created_at)
VALUES (%s, %s, %s, %s, %s, %s, now())
ON CONFLICT (event_id) DO NOTHING
RETURNING id
"""
TOTALS_SQL = """
INSERT INTO campaigns_spendtotal (campaign_id, period, period_start, amount)
VALUES (%(campaign)s, 'd', %(day)s, %(amount)s), (%(campaign)s, 'm', %(month)s, %(amount)s)
ON CONFLICT (campaign_id, period, period_start)
DO UPDATE SET amount = campaigns_spendtotal.amount + EXCLUDED.amount
"""


def record_spend(event: SpendEvent, *, now: datetime) -> Recorded:
    """Record one spend and decide its brand at `now`; retries of an event_id are answered
    with the first response and counted once."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(LOCK_SQL, [event.campaign_id])
            row = cursor.fetchone()
            if row is None:
                raise UnknownCampaign(event.campaign_id)
            brand_id, timezone = row
            occurred_at = event.occurred_at or now
            tz = selectors.zone(timezone)
            cursor.execute(
                INSERT_SQL,
                [
                    event.campaign_id,
                    event.amount,
                    occurred_at,
                    clock.local_day(occurred_at, tz),
                    event.event_id,
                    event.fingerprint() if event.event_id else "",
                ],
            )
            inserted = cursor.fetchone()
            if inserted is None:
                return _replay(cursor, event)
            cursor.execute(
                TOTALS_SQL,
                {
                    "campaign": event.campaign_id,
                    "amount": event.amount,
                    "day": clock.local_day(occurred_at, tz),
                    "month": clock.local_month(occurred_at, tz),
                },
            )
        status.decide_locked(now, cause=Cause.SPEND, brand_ids=[brand_id])
        body = _response(inserted[0], event, occurred_at, _campaign_status(event.campaign_id))
        if event.event_id:
            _remember_response(inserted[0], body)
        return Recorded(body=body, created=True)


def _replay(cursor: Any, event: SpendEvent) -> Recorded:
    cursor.execute(
        "SELECT request_hash, response FROM campaigns_spend WHERE event_id = %s",
        [event.event_id],
    )
    request_hash, response = cursor.fetchone()
    if request_hash != event.fingerprint():
        raise EventConflict(event.event_id)
    body = json.loads(response) if isinstance(response, str) else response
    return Recorded(body=body, created=False)


def _campaign_status(campaign_id: int) -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT status, pause_reasons FROM campaigns_campaign WHERE id = %s", [campaign_id]
        )
        campaign_status, reasons = cursor.fetchone()
    return {"status": campaign_status, "pause_reasons": list(reasons)}


def _remember_response(spend_id: int, body: dict[str, Any]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE campaigns_spend SET response = %s WHERE id = %s", [json.dumps(body), spend_id]
        )


def _response(
    spend_id: int, event: SpendEvent, occurred_at: datetime, campaign_status: dict[str, Any]
) -> dict[str, Any]:
    return {
        "id": spend_id,
        "campaign": event.campaign_id,
        "amount": format_amount(event.amount),
        "occurred_at": occurred_at.isoformat().replace("+00:00", "Z"),
        "event_id": event.event_id,
        "campaign_status": campaign_status,
    }

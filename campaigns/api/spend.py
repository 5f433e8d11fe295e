"""`POST /api/v1/spend`: parsed by hand (no serializer per event: this is the hot path)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns import ledger
from campaigns.api.fields import MAX_FUTURE, parse_amount, parse_instant
from campaigns.api.views import Conflict

EVENT_ID_MAX = 200


class InvalidEvent(Exception):
    def __init__(self, fields: dict[str, list[str]]) -> None:
        super().__init__(fields)
        self.fields = fields


def parse_event(raw: Any, *, now: datetime) -> ledger.SpendEvent:
    """One spend event from JSON, or InvalidEvent naming every offending field."""
    if not isinstance(raw, dict):
        raise InvalidEvent({"non_field_errors": ["Expected a JSON object."]})
    errors: dict[str, list[str]] = {}
    campaign = _field(errors, "campaign", raw, _campaign_id, required=True)
    amount = _field(errors, "amount", raw, lambda v: parse_amount(v, places=6), required=True)
    occurred_at = _field(errors, "occurred_at", raw, lambda v: _occurred_at(v, now))
    event_id = _field(errors, "event_id", raw, _event_id)
    if amount is not None and amount <= 0:
        errors["amount"] = ["The amount must be greater than 0."]
    if errors:
        raise InvalidEvent(errors)
    return ledger.SpendEvent(campaign, amount, occurred_at, event_id)


def _field(errors: dict[str, list[str]], name: str, raw: dict[str, Any], parse: Any,
           *, required: bool = False) -> Any:
    value = raw.get(name)
    if value is None:
        if required:
            errors[name] = ["This field is required."]
        return None
    try:
        return parse(value)
    except ValueError as exc:
        errors[name] = [str(exc)]
        return None


def _campaign_id(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("Expected a campaign id.")
    if isinstance(value, str) and not value.isdigit():
        raise ValueError("Expected a campaign id.")
    campaign = int(value)
    if not 0 < campaign < 2**63:
        raise ValueError("Unknown campaign.")
    return campaign


def _occurred_at(value: Any, now: datetime) -> datetime:
    occurred_at = parse_instant(value)
    if occurred_at - now > MAX_FUTURE:
        raise ValueError("occurred_at is more than 5 minutes in the future.")
    return occurred_at


def _event_id(value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > EVENT_ID_MAX:
        raise ValueError(f"Expected a string of 1 to {EVENT_ID_MAX} characters.")
    return value


SPEND_REQUEST = inline_serializer("SpendRequest", {
    "campaign": serializers.IntegerField(),
    "amount": serializers.DecimalField(max_digits=18, decimal_places=6),
    "occurred_at": serializers.DateTimeField(required=False),
    "event_id": serializers.CharField(required=False),
})


class SpendView(APIView):
    write_scope = "spend:write"

    @extend_schema(request=SPEND_REQUEST, responses={201: dict, 200: dict}, examples=[
        OpenApiExample("spend", value={"campaign": 1, "amount": "12.50",
                                       "occurred_at": "2026-03-01T12:00:00Z",
                                       "event_id": "etl-42"}),
    ])
    def post(self, request: Request) -> Response:
        now = timezone.now()
        try:
            event = parse_event(request.data, now=now)
        except InvalidEvent as exc:
            raise exceptions.ValidationError(exc.fields) from exc
        try:
            recorded = ledger.record_spend(event, now=now)
        except ledger.UnknownCampaign as exc:
            raise exceptions.ValidationError({"campaign": ["Unknown campaign."]}) from exc
        except ledger.EventConflict as exc:
            raise Conflict("This event_id was already used with a different body.") from exc
        return Response(recorded.body, status=201 if recorded.created else 200)

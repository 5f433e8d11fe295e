"""`POST /api/v1/spend` and `POST /api/v1/spend/batch`: parsed by hand (no serializer per event:
this is the hot path), recorded by `campaigns.ledger`.

A single spend is the service's busiest request, so its view is a plain Django view rather than
DRF's: DRF's dispatch (its request wrapper, negotiation, authentication and permission classes)
cost more CPU than recording the spend. It still passes Django's whole request cycle like every
other request (its request signals, every middleware: security headers, the tenant, JSON errors,
and whatever is added there later, such as a rate limit), and it takes the same steps DRF would,
through the same functions: `tenants.auth` for the token and its scope, `saas.api` to read and
write JSON, `saas.errors` for every refusal. The batch endpoint is DRF's.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns import ledger
from campaigns.api import schema
from campaigns.api.fields import MAX_FUTURE, parse_amount, parse_instant, storable_text
from saas.api import DecimalJSONParser, json_response, read_json, require_json_answer
from saas.errors import InvalidInput, PayloadTooLarge
from tenants import auth

SPEND_SCOPE = "spend:write"
EVENT_ID_MAX = 200
BATCH_MAX = 1000


class SpendJSONParser(DecimalJSONParser):
    """The API's JSON, except that a bare NaN or Infinity token becomes a non-finite Decimal,
    so the field that carries it is named in the 400 rather than the whole body refused."""

    parse_constant = staticmethod(Decimal)


def parse_event(raw: Any, *, now: datetime) -> ledger.SpendEvent:
    """One spend event from JSON, or InvalidInput naming every offending field."""
    if not isinstance(raw, dict):
        raise InvalidInput({"non_field_errors": ["Expected a JSON object."]})
    errors: dict[str, list[str]] = {}
    campaign = _field(errors, "campaign", raw, _campaign_id, required=True)
    amount = _field(errors, "amount", raw, lambda v: parse_amount(v, places=6), required=True)
    occurred_at = _field(errors, "occurred_at", raw, lambda v: _occurred_at(v, now))
    event_id = _field(errors, "event_id", raw, _event_id)
    if amount is not None and amount <= 0:
        errors["amount"] = ["The amount must be greater than 0."]
    if errors:
        raise InvalidInput(errors)
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
    if isinstance(value, str) and not (value.isascii() and value.isdigit()):
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
    return storable_text(value)


@csrf_exempt  # a bearer token, never a cookie, authenticates the API
@require_POST
def record_spend(request: HttpRequest) -> HttpResponse:
    """Record one spend: 201 with the campaign's status after it, 200 for a retry."""
    require_json_answer(request)
    auth.require_scope(auth.authenticate(request), SPEND_SCOPE)
    now = timezone.now()
    event = parse_event(read_json(request, SpendJSONParser()), now=now)
    recorded = ledger.record_spend(event, now=now)
    return json_response(recorded.body, status=201 if recorded.created else 200)


def parse_batch(raw: Any, *, now: datetime) -> list[ledger.SpendEvent]:
    """Every event of a batch, or a 400 with the errors of all invalid ones by index."""
    if not isinstance(raw, dict):
        raise InvalidInput({"non_field_errors": ['Expected a JSON object: {"events": [...]}.']})
    events = raw.get("events")
    if not isinstance(events, list):
        raise InvalidInput({"events": ["Expected a list of spend events."]})
    if len(events) > BATCH_MAX:
        raise PayloadTooLarge(f"At most {BATCH_MAX} events per batch; this one has "
                              f"{len(events)}. Split it into several requests.")
    parsed: list[ledger.SpendEvent] = []
    errors: dict[int, dict[str, list[str]]] = {}
    for index, event in enumerate(events):
        try:
            parsed.append(parse_event(event, now=now))
        except InvalidInput as invalid:  # gathered: the 400 names every invalid event
            errors[index] = invalid.fields
    if errors:
        raise ledger.InvalidBatch(errors)
    return parsed


class SpendBatchView(APIView):
    """All or nothing: one transaction, a fixed number of queries for up to 1000 events.

    An event_id repeated within the batch with the same body counts as a duplicate; with a
    different body the batch is invalid (400 at the repeat's index). An event_id already in
    the ledger: same body, a duplicate; different body, 409 naming the index.
    """

    write_scope = SPEND_SCOPE
    parser_classes = [SpendJSONParser]

    @extend_schema(request={"application/json": schema.SPEND_BATCH},
                   responses=schema.SPEND_BATCH_RESPONSES)
    def post(self, request: Request) -> Response:
        now = timezone.now()
        recorded = ledger.record_batch(parse_batch(request.data, now=now), now=now)
        return Response({"created": recorded.created, "duplicates": recorded.duplicates,
                         "campaigns": recorded.campaigns})

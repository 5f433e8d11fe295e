"""The OpenAPI description of the spend endpoints.

`POST /api/v1/spend` is a plain Django view (see `campaigns.api.spend`), which drf-spectacular
does not see: `add_spend_operation`, a postprocessing hook, writes its operation, with the
schemas the view enforces (a positive amount with at most 6 decimals, as a decimal string or a
JSON number; an instant with an offset; an event_id of 1 to 200 characters).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

from campaigns import rules
from campaigns.models import Status

BATCH_MAX = 1000
AMOUNT_TEXT = r"^\+?(?!0*(\.0*)?$)[0-9]{1,12}(\.[0-9]{1,6})?$"
REASONS = list(rules.REASONS_ORDER)

SPEND_EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["campaign", "amount"],
    "properties": {
        "campaign": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
        "amount": {
            "description": "Greater than 0, at most 6 decimals: a decimal string, or a JSON "
                           "number read as its exact decimal text.",
            "oneOf": [{"type": "string", "pattern": AMOUNT_TEXT},
                      {"type": "number", "exclusiveMinimum": 0, "maximum": 999999999999,
                       "multipleOf": 0.000001}],
        },
        "occurred_at": {"type": "string", "format": "date-time",
                        "description": "RFC 3339 (ISO 8601 with an offset), from "
                                       "1900-01-01T00:00:00Z and at most 5 minutes ahead; "
                                       "default now."},
        "event_id": {"type": "string", "minLength": 1, "maxLength": 200,
                     "description": "Unique per agency: a retry with the same body gets the "
                                    "first answer (200), another body 409."},
    },
}
CAMPAIGN_STATUS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["status", "pause_reasons"],
    "properties": {
        "status": {"type": "string", "enum": [Status.ACTIVE.value, Status.PAUSED.value]},
        "pause_reasons": {"type": "array", "items": {"type": "string", "enum": REASONS}},
    },
}
SPEND_ANSWER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "campaign", "amount", "occurred_at", "event_id", "campaign_status"],
    "properties": {
        "id": {"type": "integer"},
        "campaign": {"type": "integer"},
        "amount": {"type": "string", "pattern": r"^[0-9]+\.[0-9]{2,6}$"},
        "occurred_at": {"type": "string", "format": "date-time"},
        "event_id": {"type": "string", "nullable": True},
        "campaign_status": {"$ref": "#/components/schemas/CampaignStatus"},
    },
}
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {"error": {"type": "string"}, "message": {"type": "string"},
                   "fields": {"type": "object"}},
}
COMPONENTS = {"SpendEvent": SPEND_EVENT_SCHEMA, "CampaignStatus": CAMPAIGN_STATUS_SCHEMA,
              "SpendAnswer": SPEND_ANSWER_SCHEMA, "Error": ERROR_SCHEMA}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


SPEND_OPERATION: dict[str, Any] = {
    "operationId": "spend_create",
    "summary": "Record one spend",
    "description": "The budget check runs before the answer: the spend that uses up a budget "
                   "answers with the campaign paused.",
    "tags": ["spend"],
    "security": [{"bearerAuth": []}],
    "requestBody": {"required": True,
                    "content": {"application/json": {"schema": _ref("SpendEvent")}}},
    "responses": {
        "201": _json(_ref("SpendAnswer"), "Recorded."),
        "200": _json(_ref("SpendAnswer"), "A retry of an event_id: the first answer."),
        "400": _json(_ref("Error"), "Invalid input, naming the fields; nothing stored."),
        "401": _json(_ref("Error"), "No token, or not this host's agency's."),
        "403": _json(_ref("Error"), "The token lacks spend:write."),
        "409": _json(_ref("Error"), "The event_id was used with another body."),
    },
}


def add_spend_operation(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: the single spend's operation and its schemas."""
    result.setdefault("components", {}).setdefault("schemas", {}).update(COMPONENTS)
    result["paths"]["/api/v1/spend"] = {"post": SPEND_OPERATION}
    return result


SPEND_BATCH: dict[str, Any] = {  # a raw schema: drf-spectacular uses it as given
    "type": "object",
    "required": ["events"],
    "properties": {"events": {"type": "array", "maxItems": BATCH_MAX,
                              "items": _ref("SpendEvent")}},
}
SPEND_BATCH_RESPONSES = {200: inline_serializer("SpendBatchResponse", {
    "created": serializers.IntegerField(),
    "duplicates": serializers.IntegerField(),
    "campaigns": serializers.ListField(child=inline_serializer("SpendBatchCampaign", {
        "id": serializers.IntegerField(),
        "status": serializers.ChoiceField(choices=Status.choices),
        "pause_reasons": serializers.ListField(
            child=serializers.ChoiceField(choices=REASONS)),
    })),
})}

"""The OpenAPI description of the spend endpoints (placeholder while the schema is rewritten)."""

from __future__ import annotations

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

SPEND_EVENT = inline_serializer("SpendRequest", {
    "campaign": serializers.IntegerField(),
    "amount": serializers.DecimalField(max_digits=18, decimal_places=6),
    "occurred_at": serializers.DateTimeField(required=False),
    "event_id": serializers.CharField(required=False),
})
SPEND_BATCH = inline_serializer("SpendBatchRequest", {
    "events": serializers.ListField(child=SPEND_EVENT, max_length=1000),
})
SPEND_BATCH_RESPONSES = {200: inline_serializer("SpendBatchResponse", {
    "created": serializers.IntegerField(),
    "duplicates": serializers.IntegerField(),
    "campaigns": serializers.ListField(child=inline_serializer("SpendBatchCampaign", {
        "id": serializers.IntegerField(),
        "status": serializers.CharField(),
        "pause_reasons": serializers.ListField(child=serializers.CharField()),
    })),
})}

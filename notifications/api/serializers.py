"""Serializers per endpoint: they parse and render; the services decide."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from campaigns.api.fields import parse_instant
from notifications import services
from notifications.events import event_body
from notifications.models import DeliveryAttempt, Event, EventType, WebhookEndpoint


def _checked(check: Any, value: Any) -> Any:
    try:
        return check(value)
    except DjangoValidationError as exc:
        raise serializers.ValidationError(exc.messages) from exc


class WebhookSerializer(serializers.ModelSerializer[WebhookEndpoint]):
    url = serializers.CharField(max_length=services.MAX_URL_LENGTH)
    event_types = serializers.ListField(child=serializers.CharField(max_length=64),
                                        required=False, max_length=20)
    description = serializers.CharField(max_length=500, allow_blank=True, required=False)
    enabled = serializers.BooleanField(required=False)

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "event_types", "description", "enabled", "created_at"]
        read_only_fields = ["created_at"]

    def validate_url(self, url: str) -> str:
        return str(_checked(services.validate_endpoint_url, url))

    def validate_event_types(self, event_types: list[str]) -> list[str]:
        return list(_checked(services.validate_event_types, event_types))


class CreatedWebhookSerializer(WebhookSerializer):
    """The answer to POST: the endpoint and, this once, its secret."""

    secret = serializers.CharField(read_only=True)

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]


class SecretSerializer(serializers.Serializer[dict[str, str]]):
    secret = serializers.CharField(read_only=True)


class RecoverSerializer(serializers.Serializer[dict[str, Any]]):
    since = serializers.CharField()

    def validate_since(self, value: str) -> Any:
        try:
            return parse_instant(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc


class EventSerializer(serializers.Serializer[Event]):
    """`{"id", "type", "created_at", "data"}`, exactly as deliveries carry it (the fields say
    so to the schema; `event_body` writes them)."""

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        return {  # `data` is a Serializer property: hence get_fields
            "id": serializers.IntegerField(),
            "type": serializers.ChoiceField(choices=EventType.choices),
            "created_at": serializers.DateTimeField(),
            "data": serializers.JSONField(),
        }

    def to_representation(self, instance: Event) -> dict[str, Any]:
        return event_body(instance.pk, instance.type, instance.created_at, instance.data)


class EventsPageSerializer(serializers.Serializer[dict[str, Any]]):
    results = EventSerializer(many=True)
    has_more = serializers.BooleanField()


class DeliveryAttemptSerializer(serializers.ModelSerializer[DeliveryAttempt]):
    event = serializers.IntegerField(source="event_id")

    class Meta:
        model = DeliveryAttempt
        fields = ["event", "attempt", "at", "status_code", "duration_ms", "error",
                  "next_attempt_at"]

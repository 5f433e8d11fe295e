"""The audit log as the API shows it: who, did what, to which object, with which changes."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from audit.models import Action, ActorType, AuditEntry, ObjectType


class ActorSerializer(serializers.Serializer[AuditEntry]):
    type = serializers.ChoiceField(choices=ActorType.choices, source="actor_type")
    id = serializers.IntegerField(source="actor_id")
    name = serializers.CharField(source="actor_name")


class ObjectSerializer(serializers.Serializer[AuditEntry]):
    type = serializers.ChoiceField(choices=ObjectType.choices, source="object_type")
    id = serializers.IntegerField(source="object_id")


@extend_schema_field({"type": "object", "additionalProperties": {
    "type": "array", "minItems": 2, "maxItems": 2, "items": {}},
    "description": '`{"<field>": [old, new]}`; money as decimal strings.'})
class ChangesField(serializers.JSONField):
    pass


class AuditEntrySerializer(serializers.Serializer[AuditEntry]):
    at = serializers.DateTimeField()
    actor = serializers.SerializerMethodField()
    action = serializers.ChoiceField(choices=Action.choices)
    object = serializers.SerializerMethodField()
    changes = ChangesField()

    @extend_schema_field(ActorSerializer)
    def get_actor(self, entry: AuditEntry) -> dict[str, Any]:
        return dict(ActorSerializer(entry).data)

    @extend_schema_field(ObjectSerializer)
    def get_object(self, entry: AuditEntry) -> dict[str, Any]:
        return dict(ObjectSerializer(entry).data)

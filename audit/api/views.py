"""`GET /api/v1/audit`: the agency's audit log, newest first, filtered by object."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from audit.api.serializers import AuditEntrySerializer
from audit.models import AuditEntry, ObjectType


class AuditListView(GenericAPIView[AuditEntry]):
    serializer_class = AuditEntrySerializer

    @extend_schema(parameters=[
        OpenApiParameter("object_type", str, enum=ObjectType.values,
                         description="Only changes of this kind of object."),
        OpenApiParameter("object_id", int, description="Only changes of the object with this id."),
    ])
    def get(self, request: Request) -> Response:
        entries = AuditEntry.objects.order_by("-id")
        object_type = request.query_params.get("object_type")
        if object_type is not None:
            if object_type not in ObjectType.values:
                raise exceptions.ValidationError(
                    {"object_type": [f"One of: {', '.join(ObjectType.values)}."]})
            entries = entries.filter(object_type=object_type)
        object_id = request.query_params.get("object_id")
        if object_id is not None:
            if not (object_id.isascii() and object_id.isdigit() and len(object_id) <= 18):
                raise exceptions.ValidationError({"object_id": ["Expected an id."]})
            entries = entries.filter(object_id=int(object_id))
        page = self.paginate_queryset(entries)
        rows = AuditEntrySerializer(page, many=True)  # type: ignore[arg-type]
        return self.get_paginated_response(rows.data)

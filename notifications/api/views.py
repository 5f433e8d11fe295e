"""Events and webhook endpoints: parse, call a service or a selector, render."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from audit.log import actor_of
from notifications import selectors, services
from notifications.api.serializers import (
    CreatedWebhookSerializer,
    DeliveryAttemptSerializer,
    EventSerializer,
    EventsPageSerializer,
    RecoverSerializer,
    SecretSerializer,
    WebhookSerializer,
)
from notifications.events import event_body
from notifications.models import EVENT_TYPES, Event, WebhookEndpoint
from saas.errors import InvalidInput

ID_PATTERN = r"[0-9]{1,18}"


def whole_number(request: Request, name: str, *, default: int, low: int,
                 high: int | None = None) -> int:
    """A query parameter that must be a whole number in [low, high]: else 400 naming it."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise InvalidInput({name: ["Expected a whole number."]})
    value = int(raw)
    if value < low or (high is not None and value > high):
        bounds = f"from {low} to {high}" if high is not None else f"at least {low}"
        raise InvalidInput({name: [f"Must be {bounds}."]})
    return value


def event_type(request: Request) -> str | None:
    raw = request.query_params.get("type")
    if raw is None:
        return None
    if raw not in EVENT_TYPES:
        raise InvalidInput({"type": [f"Unknown event type; known: {', '.join(EVENT_TYPES)}."]})
    return raw


class EventViewSet(viewsets.GenericViewSet[Event]):
    serializer_class = EventSerializer
    queryset = Event.objects.order_by("id")
    lookup_value_regex = ID_PATTERN
    pagination_class = None  # `after=` is the cursor

    @extend_schema(
        parameters=[
            OpenApiParameter("after", int, description="Only events with a greater id."),
            OpenApiParameter("type", str, enum=list(EVENT_TYPES)),
            OpenApiParameter("limit", int, description="1 to 100 (default 100)."),
        ],
        responses=EventsPageSerializer,
    )
    def list(self, request: Request) -> Response:
        page = selectors.events_after(
            whole_number(request, "after", default=0, low=0),
            event_type=event_type(request),
            limit=whole_number(request, "limit", default=selectors.MAX_EVENTS_PAGE, low=1,
                               high=selectors.MAX_EVENTS_PAGE),
        )
        results = EventSerializer(page.events, many=True)  # type: ignore[arg-type]
        return Response({"results": results.data,
                         "has_more": page.has_more})

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(EventSerializer(self.get_object()).data)


class WebhookViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
    mixins.UpdateModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet[WebhookEndpoint],
):
    serializer_class = WebhookSerializer
    queryset = WebhookEndpoint.objects.order_by("id")
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    lookup_value_regex = ID_PATTERN

    @extend_schema(responses={201: CreatedWebhookSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = WebhookSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        created = services.create_endpoint(actor=actor_of(request), now=timezone.now(),
                                           **body.validated_data)
        answer = {**WebhookSerializer(created.endpoint).data, "secret": created.secret}
        return Response(answer, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer: BaseSerializer[WebhookEndpoint]) -> None:
        assert serializer.instance is not None
        serializer.instance = services.update_endpoint(
            serializer.instance, dict(serializer.validated_data), actor=actor_of(self.request),
            now=timezone.now())

    def perform_destroy(self, instance: WebhookEndpoint) -> None:
        services.delete_endpoint(instance, actor=actor_of(self.request), now=timezone.now())

    @extend_schema(request=None, responses=SecretSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, pk: str) -> Response:
        secret = services.rotate_secret(self.get_object(), actor=actor_of(request),
                                        now=timezone.now())
        return Response({"secret": secret})

    @extend_schema(request=None, responses={202: dict})
    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk: str) -> Response:
        event = services.send_test(self.get_object(), now=timezone.now())
        body = event_body(event.pk, event.type, event.created_at, event.data)
        return Response({"event": body}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses=DeliveryAttemptSerializer(many=True))
    @action(detail=True, methods=["get"])
    def deliveries(self, request: Request, pk: str) -> Response:
        endpoint = self.get_object()
        page = self.paginate_queryset(selectors.delivery_log(endpoint.pk))  # type: ignore[arg-type]
        rows = DeliveryAttemptSerializer(page, many=True)  # type: ignore[arg-type]
        return self.get_paginated_response(rows.data)

    @extend_schema(request=RecoverSerializer, responses={202: dict})
    @action(detail=True, methods=["post"])
    def recover(self, request: Request, pk: str) -> Response:
        endpoint = self.get_object()
        body = RecoverSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        scheduled = services.recover(endpoint, since=body.validated_data["since"],
                                     now=timezone.now())
        return Response({"scheduled": scheduled}, status=status.HTTP_202_ACCEPTED)

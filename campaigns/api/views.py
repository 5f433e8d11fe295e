"""Brand, campaign, schedule, status and history endpoints: parse, call a service, render."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from audit.log import actor_of
from campaigns import clock, flights, selectors, services
from campaigns.api.fields import parse_field, parse_instant
from campaigns.api.responses import BrandStatusResponse, CampaignStatusResponse
from campaigns.api.serializers import (
    BrandSerializer,
    CampaignSerializer,
    HistorySerializer,
    ScheduleSerializer,
    evaluation_body,
    money,
)
from campaigns.models import Brand, Campaign, StatusChange
from saas.errors import InvalidInput

AT_PARAMETER = OpenApiParameter(
    "at", str, description="Evaluate at this ISO 8601 instant (what-if; changes nothing)."
)


def requested_instant(request: Request) -> datetime:
    """`?at=` for what-if reads, else now: the edge where the clock is read."""
    raw = request.query_params.get("at")
    if raw is None:
        return timezone.now()
    return parse_field("at", raw, parse_instant)


# PUT on a brand or a campaign is a 405 (the contract edits them with PATCH; "put" is allowed
# for the schedule action), so the schema does not offer it.
@extend_schema_view(update=extend_schema(exclude=True))
class EditViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
    mixins.UpdateModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet[Any],
):
    http_method_names = ["get", "post", "patch", "delete", "put", "head", "options"]
    lookup_value_regex = r"[0-9]{1,18}"

    def edit_context(self) -> dict[str, Any]:
        """Who acts, and when: what every service that changes something is given."""
        return {"actor": actor_of(self.request), "now": timezone.now()}

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if request.method == "PUT" and self.action == "update":
            raise exceptions.MethodNotAllowed("PUT")
        return super().update(request, *args, **kwargs)


class BrandViewSet(EditViewSet):
    serializer_class = BrandSerializer
    queryset = Brand.objects.order_by("id")

    def perform_create(self, serializer: BaseSerializer[Brand]) -> None:
        serializer.instance = services.create_brand(dict(serializer.validated_data),
                                                    **self.edit_context())

    def perform_update(self, serializer: BaseSerializer[Brand]) -> None:
        assert serializer.instance is not None
        services.update_brand(serializer.instance, dict(serializer.validated_data),
                              **self.edit_context())

    def perform_destroy(self, instance: Brand) -> None:
        services.delete_brand(instance, **self.edit_context())

    @extend_schema(parameters=[AT_PARAMETER], responses={200: BrandStatusResponse})
    @action(detail=True, methods=["get"])
    def status(self, request: Request, pk: str) -> Response:
        brand = self.get_object()
        at = requested_instant(request)
        current = selectors.snapshot(at, brand_ids=[brand.pk])
        evaluations = current.evaluate_all()
        spend = current.brands[brand.pk]
        paused = sum(1 for e in evaluations.values() if not e.can_run)
        remaining = selectors.brand_remaining(brand, spend)
        return Response({
            "brand": brand.pk,
            "local_time": at.astimezone(selectors.zone(brand.timezone)).isoformat(),
            "spend": {"today": money(spend.today), "month": money(spend.month)},
            "remaining": {"daily": money(remaining[0]), "monthly": money(remaining[1])},
            "campaigns": {"active": len(evaluations) - paused, "paused": paused},
        })


@extend_schema_view(list=extend_schema(parameters=[
    OpenApiParameter("brand", int, description="Only this brand's campaigns."),
]))
class CampaignViewSet(EditViewSet):
    serializer_class = CampaignSerializer

    def get_queryset(self) -> QuerySet[Campaign]:
        campaigns = Campaign.objects.order_by("id")
        brand = self.request.query_params.get("brand")
        if brand is not None and self.action == "list":
            if not (brand.isascii() and brand.isdigit()):  # "²" is a digit int() refuses
                raise InvalidInput({"brand": ["Expected a brand id."]})
            campaigns = campaigns.filter(brand_id=int(brand))
        return campaigns

    def perform_create(self, serializer: BaseSerializer[Campaign]) -> None:
        serializer.instance = services.create_campaign(
            dict(serializer.validated_data), **self.edit_context()
        )

    def perform_update(self, serializer: BaseSerializer[Campaign]) -> None:
        assert serializer.instance is not None
        serializer.instance = services.update_campaign(
            serializer.instance, dict(serializer.validated_data), **self.edit_context()
        )

    def perform_destroy(self, instance: Campaign) -> None:
        services.delete_campaign(instance, **self.edit_context())

    @extend_schema(request=None, responses=CampaignSerializer)
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, pk: str) -> Response:
        campaign = services.set_manual_pause(self.get_object(), True, **self.edit_context())
        return Response(CampaignSerializer(campaign).data)

    @extend_schema(request=None, responses=CampaignSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str) -> Response:
        campaign = services.set_manual_pause(self.get_object(), False, **self.edit_context())
        return Response(CampaignSerializer(campaign).data)

    @extend_schema(parameters=[AT_PARAMETER], responses={200: CampaignStatusResponse})
    @action(detail=True, methods=["get"])
    def status(self, request: Request, pk: str) -> Response:
        campaign = self.get_object()
        at = requested_instant(request)
        current = selectors.snapshot(at, brand_ids=[campaign.brand_id])
        return Response({
            "campaign": campaign.pk,
            "status": campaign.status,
            "pause_reasons": list(campaign.pause_reasons),
            "evaluation": evaluation_body(
                current.evaluate(campaign.pk),
                flight=flights.flight_figures(current, campaign.pk),
                forecast=flights.forecast(current, campaign.pk)),
        })

    @extend_schema(responses=HistorySerializer(many=True))
    @action(detail=True, methods=["get"])
    def history(self, request: Request, pk: str) -> Response:
        campaign = self.get_object()
        changes = StatusChange.objects.filter(campaign_id=campaign.pk).order_by("-id")
        page = self.paginate_queryset(changes)
        rows = HistorySerializer(page, many=True)  # type: ignore[arg-type]
        return self.get_paginated_response(rows.data)

    @extend_schema(request=ScheduleSerializer, responses=ScheduleSerializer)
    @action(detail=True, methods=["get", "put"])
    def schedule(self, request: Request, pk: str) -> Response:
        campaign = self.get_object()
        if request.method == "PUT":
            body = ScheduleSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            windows = [
                clock.Window(w["day_of_week"], w["start"], w["end"])
                for w in body.validated_data["windows"]
            ]
            services.set_schedule(campaign, windows, **self.edit_context())
        return Response({"windows": [
            {"day_of_week": w.day_of_week, "start": clock.format_hhmm(w.start_minute),
             "end": clock.format_hhmm(w.end_minute)}
            for w in campaign.windows.order_by("day_of_week", "start_minute")
        ]})

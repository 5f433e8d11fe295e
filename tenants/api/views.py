"""Signup and token endpoints: parse, call tenants.services, render."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from audit.log import actor_of
from saas.clients import client_address
from saas.errors import Forbidden
from tenants import services
from tenants.api.serializers import (
    CreatedTokenSerializer,
    SignupRequestSerializer,
    SignupResponseSerializer,
    TokenCreateSerializer,
    TokenSerializer,
)
from tenants.auth import TokenUser
from tenants.models import ApiToken


def signup_response(result: services.SignupResult, *, port: str = "") -> dict[str, Any]:
    return {
        "tenant": {
            "name": result.agency.name,
            "slug": result.agency.slug,
            "domain": result.domain,
        },
        "admin_url": services.tenant_url(result.domain, "/admin/", port=port),
        "token": result.token,
    }


class SignupView(GenericAPIView):
    """Create an agency. Only on the public host, and the only endpoint without a token."""

    authentication_classes = []
    permission_classes = [AllowAny]
    serializer_class = SignupRequestSerializer

    @extend_schema(responses={201: SignupResponseSerializer}, auth=[])
    def post(self, request: Request) -> Response:
        host = request.tenant  # type: ignore[attr-defined]  # the host's, set by TenantMiddleware
        if host.schema_name != settings.PUBLIC_SCHEMA_NAME:
            raise Http404
        serializer = SignupRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = services.sign_up(client_address(request), **serializer.validated_data)
        body = SignupResponseSerializer(
            signup_response(result, port=services.port_of(request))
        ).data
        return Response(body, status=status.HTTP_201_CREATED)


def refuse_scopes_beyond_own(request: Request, scopes: list[str], *,
                             verb: str = "grant") -> None:
    """A token hands on only what it holds: a `write` token cannot mint `spend:write`."""
    user = request.user
    assert isinstance(user, TokenUser)
    beyond = sorted(set(scopes) - user.scopes)
    if beyond:
        raise Forbidden(
            f"A token can only {verb} scopes it has itself; this one lacks {', '.join(beyond)}.")


def current_agency(request: Request) -> Any:
    user = request.user
    assert isinstance(user, TokenUser)  # HasTokenScope let only token users through
    return user.agency


class TokenListView(GenericAPIView):
    serializer_class = TokenSerializer

    def get_queryset(self) -> Any:
        return ApiToken.objects.filter(
            agency=current_agency(self.request), revoked_at__isnull=True
        ).order_by("-id")

    # A list (paginated), not a retrieve: without this the schema names both token GETs alike.
    @extend_schema(responses=TokenSerializer(many=True))
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(TokenSerializer(page, many=True).data)

    @extend_schema(request=TokenCreateSerializer, responses={201: CreatedTokenSerializer})
    def post(self, request: Request) -> Response:
        serializer = TokenCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        refuse_scopes_beyond_own(request, serializer.validated_data["scopes"])
        token, plaintext = services.create_token(
            current_agency(request),
            serializer.validated_data["name"],
            serializer.validated_data["scopes"],
            actor=actor_of(request), at=timezone.now(),
        )
        token.token = plaintext  # type: ignore[attr-defined]
        return Response(CreatedTokenSerializer(token).data, status=status.HTTP_201_CREATED)


class TokenDetailView(GenericAPIView):
    serializer_class = TokenSerializer

    def get_queryset(self) -> Any:
        return ApiToken.objects.filter(
            agency=current_agency(self.request), revoked_at__isnull=True
        )

    def get(self, request: Request, token_id: int) -> Response:
        token = get_object_or_404(self.get_queryset(), pk=token_id)
        return Response(TokenSerializer(token).data)

    def delete(self, request: Request, token_id: int) -> Response:
        """A token revokes only tokens that hold no more than it does (itself included): a
        `write` token cannot take the agency's all-scopes token away."""
        token = get_object_or_404(self.get_queryset(), pk=token_id)
        refuse_scopes_beyond_own(request, token.scopes, verb="revoke")
        if not services.revoke_token(current_agency(request), token_id, actor=actor_of(request),
                                     at=timezone.now()):
            raise Http404
        return Response(status=status.HTTP_204_NO_CONTENT)

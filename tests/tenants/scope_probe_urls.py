"""A tenant urlconf with one probe view per write scope, for the scope matrix tests."""

from __future__ import annotations

from django.urls import include, path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class SpendProbe(APIView):
    write_scope = "spend:write"

    def get(self, request: Request) -> Response:
        return Response({"ok": True})

    def post(self, request: Request) -> Response:
        return Response({"ok": True})


urlpatterns = [
    path("api/v1/probe/spend", SpendProbe.as_view()),
    path("", include("saas.urls_tenant")),
]

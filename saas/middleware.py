"""Middleware that must see a request before, or a response after, everything else."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control, patch_vary_headers

from saas.errors import (
    LengthRequired,
    ServerError,
    as_api_error,
    error_response,
    status_error,
)
from saas.health import health_response

logger = logging.getLogger(__name__)


class HealthCheckMiddleware:
    """Answers `/healthz` before host checks and tenant lookup.

    Load balancers and container health checks probe by IP or by an internal name that is
    no tenant's domain; the answer must not depend on the Host header.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path in ("/healthz", "/healthz/"):
            return health_response()
        return self.get_response(request)


def api_exception_response(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The answer to what an API view raised: its `ApiError`, or a logged JSON 500 (a bug)."""
    error = as_api_error(exception)
    if error is None:
        logger.error("Unhandled error on %s %s", request.method, request.path,
                     exc_info=exception)
        error = ServerError()
    return error_response(error)


class ApiErrorMiddleware:
    """Every error under `/api/` is JSON: what a view raises that DRF does not render (the spend
    view is not DRF's), and Django's own 404, 405 and 500 pages. Rendered by `saas.errors`, as
    DRF's exception handler renders the rest. No answer under `/api/` is cached."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith("/api/") and _chunked_without_length(request):
            return self._secured(error_response(LengthRequired()))
        response = self.get_response(request)
        if not request.path_info.startswith("/api/"):
            return response
        if response.status_code >= 400 and not response.get(
                "Content-Type", "").startswith("application/json"):
            response = self._as_json(response)
        return self._secured(response)

    @staticmethod
    def _secured(response: HttpResponse) -> HttpResponse:
        """An answer is its token's alone (on the public host the same URL serves every agency)
        and may carry a secret shown once: no cache keeps it."""
        patch_cache_control(response, private=True, no_store=True)
        patch_vary_headers(response, ["Authorization"])
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not request.path_info.startswith("/api/"):
            return None
        return api_exception_response(request, exception)

    @staticmethod
    def _as_json(response: HttpResponse) -> HttpResponse:
        replacement = error_response(status_error(response.status_code))
        for header in ("Allow", "WWW-Authenticate", "Retry-After"):
            if header in response:
                replacement[header] = response[header]
        return replacement


def _chunked_without_length(request: HttpRequest) -> bool:
    """Django reads a body by its Content-Length: a chunked one (the WSGI server dechunks it,
    and sends no length) would be read as empty, a spend as one with no fields."""
    chunked = "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
    return chunked and not request.META.get("CONTENT_LENGTH")


class ContentSecurityPolicyMiddleware:
    """`Content-Security-Policy` on every HTML page (dashboard, admin, sign-in, API docs):
    scripts only from this origin, no plugins, no framing, forms post only here. Should a
    template ever echo an agency's text unescaped (an endpoint's description, a campaign's
    name), the browser still runs none of it. Inline `style` attributes stay allowed: the
    gauges set their widths with them, and a style cannot run code."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy = settings.CONTENT_SECURITY_POLICY

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (self.policy and "Content-Security-Policy" not in response
                and response.get("Content-Type", "").startswith("text/html")):
            response["Content-Security-Policy"] = self.policy
        return response

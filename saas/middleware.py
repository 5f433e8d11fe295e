"""Middleware that must see a request before, or a response after, everything else."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from http import HTTPStatus

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control, patch_vary_headers

from saas.errors import error_body, known_error_response, server_error_response
from saas.health import health_response

logger = logging.getLogger(__name__)
# Where the HTTP phrase is not the code the API uses for it elsewhere.
STATUS_CODES = {500: "server_error", 503: "service_unavailable"}


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


class ApiErrorMiddleware:
    """Every error under `/api/` is JSON, including Django's own 404, 405 and 500 pages, and
    no answer under `/api/` is cached."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith("/api/"):
            return response
        if response.status_code >= 400 and not response.get(
                "Content-Type", "").startswith("application/json"):
            response = self._as_json(response)
        # An answer is its token's alone (on the public host the same URL serves every agency)
        # and may carry a secret shown once: no cache keeps it.
        patch_cache_control(response, private=True, no_store=True)
        patch_vary_headers(response, ["Authorization"])
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not request.path.startswith("/api/"):
            return None
        known = known_error_response(exception)
        if known is not None:
            return known
        logger.exception("Unhandled error on %s %s", request.method, request.path)
        return server_error_response()

    @staticmethod
    def _as_json(response: HttpResponse) -> HttpResponse:
        phrase = HTTPStatus(response.status_code).phrase
        code = STATUS_CODES.get(response.status_code) or phrase.lower().replace(" ", "_")
        replacement = HttpResponse(
            json.dumps(error_body(f"{phrase}.", code)),
            status=response.status_code,
            content_type="application/json",
        )
        for header in ("Allow", "WWW-Authenticate", "Retry-After"):
            if header in response:
                replacement[header] = response[header]
        return replacement

"""`POST /api/v1/spend`, answered early inside Django's own request cycle.

A spend is the service's busiest request and most of its cost is the framework's, so it is not
sent on through the middleware that serves browsers (static files, sessions, CSRF, users,
messages, sign-in lockout) or through URL resolution: this middleware, placed after the security
and tenant middleware, hands it to its view. The request is Django's, and so is the response,
with Django's request signals, security headers, tenant and the API's JSON errors; whatever
middleware is placed above this one applies to spend as to every other request (see
`settings.MIDDLEWARE`). As `/healthz` is answered by `saas.middleware.HealthCheckMiddleware`.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from campaigns.api.spend import record_spend
from saas.middleware import api_exception_response

SPEND_PATH = "/api/v1/spend"  # the URLconf's `spend`, on the public host and agency hosts alike


class SpendMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info != SPEND_PATH:
            return self.get_response(request)
        try:
            return record_spend(request)
        except Exception as exc:  # a view's exception, rendered as ApiErrorMiddleware does
            return api_exception_response(request, exc)

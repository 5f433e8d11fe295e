"""Django's last-resort error views, for errors raised outside any view (in middleware, such as
the tenant lookup while the database is down) and for bad requests Django refuses itself."""

from __future__ import annotations

import sys

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.views import defaults

from saas.errors import ServerError, as_api_error, error_response

UNAVAILABLE_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Temporarily unavailable</title></head><body>
<h1>Temporarily unavailable</h1><p>The service cannot reach its database right now. Please try
again in a few seconds.</p></body></html>"""


def server_error(request: HttpRequest) -> HttpResponse:
    """`handler500`: Django calls it while handling the exception, so `sys.exc_info()` has it."""
    exception = sys.exc_info()[1]
    error = as_api_error(exception) if isinstance(exception, Exception) else None
    if request.path.startswith("/api/"):
        return error_response(error or ServerError())
    if error is not None and error.status == 503:
        page = HttpResponse(UNAVAILABLE_PAGE, status=503)
        page["Retry-After"] = error.headers["Retry-After"]
        return page
    return defaults.server_error(request)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """`handler400`: a body over DATA_UPLOAD_MAX_MEMORY_SIZE (read by the CSRF check of a form
    post, say) is a 413, not a 400."""
    if isinstance(exception, RequestDataTooBig):
        error = as_api_error(exception)
        assert error is not None
        return error_response(error) if request.path.startswith("/api/") else HttpResponse(
            "Request body too large.", status=error.status, content_type="text/plain")
    return defaults.bad_request(request, exception)

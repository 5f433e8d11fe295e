"""The API's errors, mapped to HTTP once.

Code below the views raises an `ApiError` that carries its own status, machine code and message
(as Zulip's `JsonableError` or HackSoft's `ApplicationError` do); views never catch and
translate. `as_api_error` maps what the frameworks raise (DRF's exceptions, Django's
`ValidationError`, `Http404`, `PermissionDenied`) and what is the client's or the database's
condition rather than a bug (a body over the limit, a database that is down, a lock not granted
in time) to the same type, and `error_response` renders every one of them in the one shape
`{"error", "message", "fields"?}`. DRF's exception handler (`saas.api.exception_handler`),
`saas.middleware.ApiErrorMiddleware` and Django's last-resort views (`saas.views`) are its
callers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, ClassVar

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, InterfaceError, OperationalError
from django.http import Http404, HttpResponse
from psycopg import errors as pg_errors
from rest_framework import exceptions as drf

# Long enough that clients blocked on a held row do not come straight back and fill the workers.
BUSY_RETRY_AFTER = 3
DOWN_RETRY_AFTER = 5


class ApiError(Exception):
    """An error the API answers with `status`, `code` and a readable message."""

    status: int = 400
    code: str = "bad_request"
    default_message: ClassVar[str] = "Bad request."

    def __init__(self, message: str | None = None, *, fields: Any = None,
                 headers: Mapping[str, str] | None = None, status: int | None = None,
                 code: str | None = None) -> None:
        self.message = message or self.default_message
        self.fields = fields
        self.headers = dict(headers or {})
        self.status = status or self.status
        self.code = code or self.code
        super().__init__(self.message)


class InvalidInput(ApiError):
    """400 naming the offending fields: `{"amount": ["..."]}`, nested by index for lists."""

    code = "validation_error"
    default_message = "Invalid input."

    def __init__(self, fields: Mapping[str, Any], message: str | None = None) -> None:
        super().__init__(message or f"Invalid input. {first_message(fields)}",
                         fields=dict(fields))


class Unauthenticated(ApiError):
    status = 401
    code = "authentication_failed"
    default_message = "Authentication required: Authorization: Bearer <token>."

    def __init__(self, message: str | None = None, *, code: str | None = None) -> None:
        super().__init__(message, headers={"WWW-Authenticate": 'Bearer realm="api"'}, code=code)


class Forbidden(ApiError):
    status = 403
    code = "permission_denied"
    default_message = "You do not have permission to perform this action."


class NotFound(ApiError):
    status = 404
    code = "not_found"
    default_message = "Not found."


class Conflict(ApiError):
    """409: the request contradicts what is stored (a taken slug, spend that must stay)."""

    status = 409
    code = "conflict"
    default_message = "Conflict."


class PayloadTooLarge(ApiError):
    status = 413
    code = "payload_too_large"
    default_message = "The request is too large."


class LengthRequired(ApiError):
    status = 411
    code = "length_required"
    default_message = ("Send the body with a Content-Length header: a chunked request body "
                       "is not read.")


class UnsupportedMediaType(ApiError):
    status = 415
    code = "unsupported_media_type"
    default_message = "Send the body as application/json."


class NotAcceptable(ApiError):
    status = 406
    code = "not_acceptable"
    default_message = "This API answers application/json only."


class TooManyRequests(ApiError):
    status = 429
    code = "throttled"
    default_message = "Too many requests."

    def __init__(self, message: str | None = None, *, retry_after: int) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


class ServiceUnavailable(ApiError):
    """503: the database is down, or this data is held elsewhere; nothing was stored."""

    status = 503
    code = "service_unavailable"
    default_message = "The database is unavailable; try again shortly."

    def __init__(self, message: str | None = None, *, retry_after: int) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)})


class ServerError(ApiError):
    status = 500
    code = "server_error"
    default_message = "Internal server error."


def first_message(detail: Any) -> str:
    """The first message of nested field errors, with the path to it: `events: 3: amount: ...`."""
    if isinstance(detail, Mapping):
        for key, value in detail.items():
            return f"{key}: {first_message(value)}"
    if isinstance(detail, list | tuple) and detail:
        return first_message(detail[0])
    return str(detail)


def as_api_error(exc: Exception) -> ApiError | None:
    """The `ApiError` an exception answers with; None for anything else (a bug: a 500)."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, Http404):
        return NotFound()
    if isinstance(exc, PermissionDenied):
        return Forbidden()
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            return InvalidInput(exc.message_dict)
        return InvalidInput({"non_field_errors": exc.messages})
    if isinstance(exc, drf.ValidationError):
        detail = exc.detail
        return InvalidInput(detail if isinstance(detail, dict) else {"non_field_errors": detail})
    if isinstance(exc, drf.APIException):
        return _from_drf(exc)
    return _from_conditions(exc)


def _from_conditions(exc: Exception) -> ApiError | None:
    """What is the client's or the database's condition, not a bug."""
    if isinstance(exc, RequestDataTooBig):
        return PayloadTooLarge("The request body is larger than the service accepts.")
    if isinstance(exc, SuspiciousOperation):  # too many fields or files, a bad multipart body
        return ApiError("The request is malformed.")
    if isinstance(exc, DataError) and isinstance(exc.__cause__, pg_errors.NumericValueOutOfRange):
        # A total past numeric(24,6): reachable only by spending ~10^18 on one campaign.
        return Conflict("This would take a spend total past the largest amount the service "
                        "keeps (999,999,999,999,999,999.999999); nothing was stored.")
    if isinstance(exc, OperationalError | InterfaceError):
        if isinstance(exc.__cause__, pg_errors.LockNotAvailable | pg_errors.QueryCanceled):
            return ServiceUnavailable("The service is busy with this data; try again shortly.",
                                      retry_after=BUSY_RETRY_AFTER)
        return ServiceUnavailable(retry_after=DOWN_RETRY_AFTER)
    return None


def _from_drf(exc: drf.APIException) -> ApiError:
    codes = exc.get_codes()
    error = ApiError(str(exc.detail), status=exc.status_code,
                     code=codes if isinstance(codes, str) else exc.default_code)
    if getattr(exc, "auth_header", None):  # set by DRF's view on 401s
        error.headers["WWW-Authenticate"] = exc.auth_header  # type: ignore[attr-defined]
    if getattr(exc, "wait", None):
        error.headers["Retry-After"] = str(exc.wait)  # type: ignore[attr-defined]
    return error


def error_body(message: str, code: str, fields: Any = None) -> dict[str, Any]:
    """A readable message, a machine code and, for validation, the offending fields."""
    body: dict[str, Any] = {"error": code, "message": message}
    if fields is not None:
        body["fields"] = fields
    return body


def error_response(error: ApiError) -> HttpResponse:
    """The one rendering of an API error."""
    response = HttpResponse(
        json.dumps(error_body(error.message, error.code, error.fields)),
        status=error.status, content_type="application/json",
    )
    for name, value in error.headers.items():
        response[name] = value
    return response


def status_error(status: int) -> ApiError:
    """An error for a bare status Django answered itself (its 404, 405 and 500 pages)."""
    if status == ServerError.status:
        return ServerError()  # the same 500 whether a view or a middleware failed
    phrase = HTTPStatus(status).phrase
    return ApiError(f"{phrase}.", status=status, code=phrase.lower().replace(" ", "_"))

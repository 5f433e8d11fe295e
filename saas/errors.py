"""The one shape of every API error body, and the answers to errors raised below the API's own
code: a body larger than the service accepts, a database that is down or a lock it could not
get in time."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from psycopg import errors as pg_errors

# Long enough that clients blocked on a held row do not come straight back and fill the workers.
BUSY_RETRY_AFTER = 3
DOWN_RETRY_AFTER = 5


def error_body(message: str, code: str, fields: Any = None) -> dict[str, Any]:
    """A readable message, a machine code and, for validation, the offending fields."""
    body: dict[str, Any] = {"error": code, "message": message}
    if fields is not None:
        body["fields"] = fields
    return body


def error_response(status: int, message: str, code: str, *,
                   retry_after: int | None = None) -> JsonResponse:
    response = JsonResponse(error_body(message, code), status=status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


def server_error_response() -> JsonResponse:
    return error_response(500, "Internal server error.", "server_error")


def is_busy(exc: BaseException) -> bool:
    """A lock not granted within `lock_timeout`, or a statement cancelled by its timeout."""
    return isinstance(exc.__cause__, pg_errors.LockNotAvailable | pg_errors.QueryCanceled)


def known_error_response(exc: BaseException) -> JsonResponse | None:
    """The answer to an exception that is the client's or the database's condition, not a bug
    (None: it is a bug, a 500)."""
    if isinstance(exc, RequestDataTooBig):
        return error_response(413, "The request body is larger than the service accepts.",
                              "payload_too_large")
    if isinstance(exc, SuspiciousOperation):  # too many fields or files, a bad multipart body
        return error_response(400, "The request is malformed.", "bad_request")
    if isinstance(exc, OperationalError | InterfaceError):
        if is_busy(exc):
            return error_response(503, "The service is busy with this data; try again shortly.",
                                  "service_unavailable", retry_after=BUSY_RETRY_AFTER)
        return error_response(503, "The database is unavailable; try again shortly.",
                              "service_unavailable", retry_after=DOWN_RETRY_AFTER)
    return None

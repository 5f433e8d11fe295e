"""API conventions shared by every endpoint: JSON parsing, error bodies and pagination."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from saas.errors import error_body
from saas.ratelimit import RateLimited


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number this API accepts")


class DecimalJSONParser(JSONParser):
    """JSON with every number read as its exact decimal text, never through float."""

    # What a bare NaN / Infinity / -Infinity token becomes: here, a refused body.
    parse_constant: Callable[[str], Any] = staticmethod(_reject_constant)

    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: Any = None
    ) -> Any:
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = stream.read().decode(encoding)
            return json.loads(text, parse_float=Decimal, parse_constant=self.parse_constant)
        except UnicodeDecodeError as exc:
            raise exceptions.ParseError(f"The body is not valid {encoding} text.") from exc
        except RecursionError as exc:  # the C decoder's depth guard, not a ValueError
            raise exceptions.ParseError("The body's JSON is nested too deeply.") from exc
        except ArithmeticError as exc:  # Decimal("1e999999999999999999999"): no ValueError
            raise exceptions.ParseError("The body has a number too large to read.") from exc
        except ValueError as exc:
            raise exceptions.ParseError(f"The body is not valid JSON: {exc}") from exc


def _first_message(detail: Any) -> str:
    if isinstance(detail, dict):
        for key, value in detail.items():
            return f"{key}: {_first_message(value)}"
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF errors as `{"error", "message", "fields"}`; validation names the offending fields."""
    if isinstance(exc, RateLimited):
        exc = exceptions.Throttled(wait=exc.quota.retry_after)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None
    headers: dict[str, str] = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header  # type: ignore[attr-defined]
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(exc.wait)  # type: ignore[attr-defined]
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        fields = detail if isinstance(detail, dict) else {"non_field_errors": detail}
        body = error_body(
            f"Invalid input. {_first_message(fields)}", "validation_error", fields
        )
    else:
        codes = exc.get_codes()
        body = error_body(str(exc.detail), codes if isinstance(codes, str) else exc.default_code)
    from rest_framework.views import set_rollback  # imported late: DRF settings import us

    set_rollback()
    return Response(body, status=exc.status_code, headers=headers)


class Conflict(exceptions.APIException):
    """409: the request contradicts what is stored (a taken slug, spend that must stay)."""

    status_code = 409
    default_detail = "Conflict."
    default_code = "conflict"


class Pagination(PageNumberPagination):
    """`?page=` with `count`, `next`, `previous` and `results`; `?page_size=` up to 500."""

    page_size_query_param = "page_size"
    max_page_size = 500

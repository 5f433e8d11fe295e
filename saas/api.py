"""API conventions shared by every endpoint: JSON parsing, error bodies and pagination."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from rest_framework import exceptions
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer

from saas.errors import (
    Conflict,
    NotAcceptable,
    UnsupportedMediaType,
    as_api_error,
    error_response,
)

JSON = "application/json"
ANY_JSON = frozenset(["*/*", JSON, "application/*", ""])

# Conflict lives in saas.errors with the other API errors; it is still importable from here.
__all__ = ["Conflict", "DecimalJSONParser", "Pagination", "exception_handler", "json_response",
           "read_json", "require_json_answer"]


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


def require_json_answer(request: HttpRequest) -> None:
    """406 unless the client accepts JSON, as DRF's negotiation answers its views."""
    if request.META.get("HTTP_ACCEPT", "*/*") in ANY_JSON:
        return  # what clients send, decided without parsing every header
    if not request.accepts(JSON):
        raise NotAcceptable("Could not satisfy the request Accept header.")


def read_json(request: HttpRequest, parser: DecimalJSONParser) -> Any:
    """The body of a view that is not DRF's, read as DRF's parsers read theirs: 415 unless it is
    JSON, in the charset it names (UTF-8 by default); 400 when it does not parse. No body at
    all reads as `{}`, as DRF reads it."""
    if not request.body:
        return {}
    if request.content_type != JSON:
        raise UnsupportedMediaType(f'Unsupported media type "{request.content_type}" in request.')
    encoding = request.encoding or settings.DEFAULT_CHARSET
    return parser.parse(io.BytesIO(request.body), JSON, {"encoding": encoding})


def json_response(data: Any, *, status: int = 200) -> HttpResponse:
    """`data` as DRF's JSONRenderer writes it (compact, UTF-8, decimals as text), with its
    length, as CommonMiddleware gives DRF's responses."""
    content = JSONRenderer().render(data)
    response = HttpResponse(content, status=status, content_type=JSON)
    response["Content-Length"] = str(len(content))
    return response


def exception_handler(exc: Exception, context: dict[str, Any]) -> HttpResponse | None:
    """DRF's exception handler: every error a view raises, rendered by `saas.errors`."""
    error = as_api_error(exc)
    if error is None:
        return None  # a bug: DRF re-raises it and ApiErrorMiddleware answers the JSON 500
    from rest_framework.views import set_rollback  # imported late: DRF settings import us

    set_rollback()
    return error_response(error)


class Pagination(PageNumberPagination):
    """`?page=` with `count`, `next`, `previous` and `results`; `?page_size=` up to 500."""

    page_size_query_param = "page_size"
    max_page_size = 500

"""The one shape of every API error body."""

from __future__ import annotations

from typing import Any


def error_body(message: str, code: str, fields: Any = None) -> dict[str, Any]:
    """A readable message, a machine code and, for validation, the offending fields."""
    body: dict[str, Any] = {"error": code, "message": message}
    if fields is not None:
        body["fields"] = fields
    return body

"""Checks an answer against what the OpenAPI schema documents for it, with `jsonschema`.

OpenAPI 3.0 schemas are not quite JSON Schema: `nullable` becomes a `null` type here, and
references are resolved against the document's components."""

from __future__ import annotations

from typing import Any

import jsonschema


def json_schema(node: Any, components: dict[str, Any]) -> Any:
    """`node` with its references inlined and `nullable: true` written as JSON Schema says."""
    if isinstance(node, list):
        return [json_schema(item, components) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return json_schema(components[node["$ref"].rsplit("/", 1)[1]], components)
    converted = {key: json_schema(value, components) for key, value in node.items()
                 if key not in ("nullable", "readOnly", "writeOnly", "example")}
    if node.get("nullable"):
        converted = {"anyOf": [converted, {"type": "null"}]}
    return converted


def response_schema(schema: dict[str, Any], path: str, method: str, status: int) -> Any:
    operation = schema["paths"][path][method]
    documented = operation["responses"][str(status)]["content"]["application/json"]["schema"]
    return json_schema(documented, schema["components"]["schemas"])


def assert_documented(schema: dict[str, Any], path: str, method: str, status: int,
                      body: Any) -> None:
    """The answer is what the schema says, and the schema says something (not a bare object)."""
    documented = response_schema(schema, path, method, status)
    assert documented.get("properties") or documented.get("allOf"), documented
    jsonschema.validate(body, documented)

"""Every API error is JSON in one shape; bodies are parsed strictly and numbers exactly."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from saas.api import DecimalJSONParser

pytestmark = pytest.mark.django_db


def assert_error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = dict(response.json())
    assert isinstance(body["error"], str) and isinstance(body["message"], str)
    return body


def test_unknown_api_path_is_404_json(api_client: Client, public_client: Client) -> None:
    assert_error(api_client.get("/api/v1/nothing-here"), 404)
    assert_error(public_client.get("/api/v1/nothing-here"), 404)


def test_wrong_method_is_405_json(api_client: Client, public_client: Client) -> None:
    assert_error(api_client.put("/api/v1/tokens", {}, content_type="application/json"), 405)
    assert_error(public_client.get("/api/v1/signup"), 405)


def test_body_that_is_not_json_is_400(api_client: Client, public_client: Client) -> None:
    for client, path in ((api_client, "/api/v1/tokens"), (public_client, "/api/v1/signup")):
        body = assert_error(client.post(path, "{name: oops", content_type="application/json"),
                            400)
        assert "JSON" in body["message"]


def test_body_that_is_not_utf8_is_400(api_client: Client) -> None:
    response = api_client.post("/api/v1/tokens", b'{"name": "caf\xe9", "scopes": ["read"]}',
                               content_type="application/json")
    assert_error(response, 400)


@pytest.mark.parametrize("body", ["[" * 100_000 + "]" * 100_000,
                                  '{"a": ' * 50_000 + "1" + "}" * 50_000])
def test_json_nested_too_deeply_is_400_not_500(api_client: Client, body: str) -> None:
    for path in ("/api/v1/tokens", "/api/v1/spend", "/api/v1/spend/batch"):
        response = api_client.post(path, body, content_type="application/json")
        assert "nested too deeply" in assert_error(response, 400)["message"]


@pytest.mark.parametrize("number", ["1e9999999999999999999999", "-1E-99999999999999999999999"])
def test_a_number_with_an_exponent_too_large_to_read_is_400_not_500(
    api_client: Client, number: str
) -> None:
    for path in ("/api/v1/tokens", "/api/v1/spend", "/api/v1/spend/batch"):
        response = api_client.post(path, f'{{"amount": {number}}}',
                                   content_type="application/json")
        assert "too large" in assert_error(response, 400)["message"]


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_400(api_client: Client, constant: str) -> None:
    response = api_client.post("/api/v1/tokens", f'{{"name": {constant}, "scopes": ["read"]}}',
                               content_type="application/json")
    assert_error(response, 400)


def test_json_number_is_read_as_its_exact_decimal_text() -> None:
    # A float would turn 12.50 into 12.5 and 0.1000000000000000055511 into 0.1.
    body = b'{"amount": 12.50, "tiny": 0.1000000000000000055511, "count": 3}'
    parsed = DecimalJSONParser().parse(io.BytesIO(body), "application/json", {})
    assert parsed == {"amount": Decimal("12.50"), "tiny": Decimal("0.1000000000000000055511"),
                      "count": 3}
    assert str(parsed["amount"]) == "12.50"


def test_a_number_where_text_is_expected_is_400_not_500(api_client: Client) -> None:
    response = api_client.post("/api/v1/tokens", '{"name": 12.50, "scopes": ["read"]}',
                               content_type="application/json")
    assert "name" in assert_error(response, 400)["fields"]


def test_validation_errors_name_the_fields(api_client: Client) -> None:
    body = assert_error(
        api_client.post("/api/v1/tokens", {"scopes": ["root"]}, content_type="application/json"),
        400,
    )
    assert body["error"] == "validation_error"
    assert set(body["fields"]) == {"name", "scopes"}

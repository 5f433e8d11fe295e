"""Errors under /api/ are JSON, and the API docs are served by the service itself."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def assert_json_error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = dict(response.json())
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["error"], str) and body["error"]
    return body


def test_unknown_api_path_is_404_with_a_json_message(public_client: Client) -> None:
    assert_json_error(public_client.get("/api/v1/no-such-thing"), 404)
    assert_json_error(public_client.get("/api/v2/"), 404)


def test_wrong_method_is_405_json_naming_the_allowed_ones(public_client: Client) -> None:
    response = public_client.post("/api/v1/schema/", {}, content_type="application/json")
    assert_json_error(response, 405)
    assert "GET" in response["Allow"]


def test_schema_is_openapi_3(public_client: Client) -> None:
    response = public_client.get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    assert any(path.startswith("/api/v1/") for path in schema["paths"])


def test_docs_page_loads_its_scripts_and_styles_from_the_service(public_client: Client) -> None:
    response = public_client.get("/api/v1/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', page)
    assert assets, page
    for asset in assets:
        assert asset.startswith("/static/"), f"{asset} is not served by the service"
        assert public_client.get(asset).status_code == 200, asset


TOO_BIG = json.dumps({"name": "x" * 2_700_000})


@pytest.mark.parametrize("path", ["/api/v1/brands", "/api/v1/campaigns",
                                  "/api/v1/spend", "/api/v1/spend/batch", "/api/v1/tokens"])
def test_a_body_over_the_limit_is_413_json(api_client: Client, path: str) -> None:
    from tenants.models import Agency

    agencies = Agency.objects.count()
    response = api_client.post(path, TOO_BIG, content_type="application/json")

    body = assert_json_error(response, 413)
    assert body["error"] == "payload_too_large"
    assert Agency.objects.count() == agencies


def test_a_body_over_the_limit_is_413_on_the_public_host_too(public_client: Client) -> None:
    response = public_client.post("/api/v1/signup", TOO_BIG, content_type="application/json")
    assert_json_error(response, 413)



def test_too_many_query_fields_is_400_json(api_client: Client) -> None:
    query = "&".join(f"f{n}=1" for n in range(1100))
    assert_json_error(api_client.get(f"/api/v1/brands?{query}"), 400)


def test_a_malformed_multipart_body_is_400_json(api_client: Client) -> None:
    response = api_client.generic("POST", "/api/v1/brands", b"--x\r\n\r\n",
                                  content_type="multipart/form-data; boundary=x")
    assert response.status_code in (400, 415), response.content
    assert response["Content-Type"].startswith("application/json")


def test_no_api_answer_is_cached_and_each_varies_by_token(api_client: Client) -> None:
    for response in (api_client.get("/api/v1/tokens"), api_client.get("/api/v1/nothing"),
                     api_client.post("/api/v1/tokens", {"name": "n", "scopes": ["read"]},
                                     content_type="application/json")):
        assert "no-store" in response["Cache-Control"]
        assert "private" in response["Cache-Control"]
        assert "Authorization" in response["Vary"]


def test_every_answer_carries_the_frame_and_sniffing_headers(public_client: Client) -> None:
    for response in (public_client.get("/healthz"), public_client.get("/api/v1/nothing"),
                     Client(HTTP_HOST="nobody.localhost").get("/api/v1/brands"),
                     Client(HTTP_HOST="evil.example").get("/")):
        assert response["X-Frame-Options"] == "DENY", response
        assert response["X-Content-Type-Options"] == "nosniff"

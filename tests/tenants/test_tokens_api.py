"""`/api/v1/tokens` and bearer authentication: listing, creating, revoking, scopes, tenants."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from tenants.models import ApiToken
from tenants.tokens import hash_secret

pytestmark = pytest.mark.django_db


def new_token(client: Client, scopes: list[str], name: str = "ci") -> dict[str, Any]:
    response = client.post(
        "/api/v1/tokens", {"name": name, "scopes": scopes}, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    return dict(response.json())


def test_tokens_are_listed_without_any_secret(api_client: Client, agency: Any) -> None:
    response = api_client.get("/api/v1/tokens")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    (listed,) = body["results"]
    assert set(listed) == {"id", "name", "prefix", "scopes", "created_at", "last_used_at"}
    assert agency.token.startswith(listed["prefix"])
    assert agency.token not in response.content.decode()
    assert hash_secret(agency.token) not in response.content.decode()


def test_created_token_is_shown_once_and_stored_only_as_a_hash(api_client: Client) -> None:
    created = new_token(api_client, ["read"], name="reporting")

    assert set(created) == {"id", "name", "prefix", "scopes", "created_at", "last_used_at",
                            "token"}
    assert created["scopes"] == ["read"]
    stored = ApiToken.objects.get(pk=created["id"])
    assert stored.secret_hash == hash_secret(created["token"])
    row = ApiToken.objects.filter(pk=created["id"]).values_list(flat=False).get()
    assert created["token"] not in [str(value) for value in row]
    listed = api_client.get("/api/v1/tokens").json()["results"]
    assert "token" not in listed[0]
    assert [t["name"] for t in listed] == ["reporting", "Signup token"]


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"name": "x", "scopes": []}, "scopes"),
        ({"name": "x", "scopes": ["admin"]}, "scopes"),
        ({"name": "x", "scopes": "read"}, "scopes"),
        ({"name": "x"}, "scopes"),
        ({"scopes": ["read"]}, "name"),
        ({"name": "", "scopes": ["read"]}, "name"),
    ],
)
def test_bad_token_requests_are_400(
    api_client: Client, payload: dict[str, Any], field: str
) -> None:
    response = api_client.post("/api/v1/tokens", payload, content_type="application/json")
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert ApiToken.objects.count() == 1


def test_duplicate_scopes_are_stored_once(api_client: Client) -> None:
    created = new_token(api_client, ["write", "read", "write"])
    assert created["scopes"] == ["read", "write"]


def test_revoked_token_is_401_at_once_and_no_longer_listed(api_client: Client) -> None:
    other = new_token(api_client, ["read"])
    victim = Client(HTTP_HOST=api_client.defaults["HTTP_HOST"],
                    HTTP_AUTHORIZATION=f"Bearer {other['token']}")
    assert victim.get("/api/v1/tokens").status_code == 200

    assert api_client.delete(f"/api/v1/tokens/{other['id']}").status_code == 204

    response = victim.get("/api/v1/tokens")
    assert response.status_code == 401
    assert response.json()["error"] == "authentication_failed"
    assert other["id"] not in [t["id"] for t in api_client.get("/api/v1/tokens").json()["results"]]
    assert api_client.delete(f"/api/v1/tokens/{other['id']}").status_code == 404


def test_a_token_can_revoke_itself(agency: Any, api_client: Client) -> None:
    own_id = api_client.get("/api/v1/tokens").json()["results"][0]["id"]
    assert api_client.delete(f"/api/v1/tokens/{own_id}").status_code == 204
    assert api_client.get("/api/v1/tokens").status_code == 401


def test_another_agencys_token_id_is_404_and_changes_nothing(
    make_agency: Callable[..., Any]
) -> None:
    acme, globex = make_agency("acme"), make_agency("globex")
    globex_token = ApiToken.objects.get(agency=globex.agency)

    for client in (acme.client(), acme.client(HTTP_HOST=settings.BASE_DOMAIN)):
        assert client.delete(f"/api/v1/tokens/{globex_token.pk}").status_code == 404
        assert client.get(f"/api/v1/tokens/{globex_token.pk}").status_code == 404

    globex_token.refresh_from_db()
    assert globex_token.revoked_at is None
    assert globex.client().get("/api/v1/tokens").status_code == 200
    listed = acme.client().get("/api/v1/tokens").json()["results"]
    assert [t["id"] for t in listed] != [globex_token.pk]


def test_token_on_another_agencys_host_is_401(make_agency: Callable[..., Any]) -> None:
    acme, globex = make_agency("acme"), make_agency("globex")
    response = Client(HTTP_HOST=globex.domain,
                      HTTP_AUTHORIZATION=f"Bearer {acme.token}").get("/api/v1/tokens")
    assert response.status_code == 401
    assert response.json()["error"] == "authentication_failed"


def test_token_on_the_public_host_acts_in_its_own_agency(
    make_agency: Callable[..., Any]
) -> None:
    acme, globex = make_agency("acme"), make_agency("globex")
    public = Client(HTTP_HOST=settings.BASE_DOMAIN, HTTP_AUTHORIZATION=f"Bearer {globex.token}")

    created = new_token(public, ["read"], name="from-public")

    assert ApiToken.objects.get(pk=created["id"]).agency == globex.agency
    names = [t["name"] for t in acme.client().get("/api/v1/tokens").json()["results"]]
    assert "from-public" not in names


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer",
        "Bearer ",
        "Token bc0123456789_" + "0" * 64,
        "Bearer not-a-token",
        "Bearer bc0123456789_" + "0" * 64,  # well-formed, unknown
        "bearer",
        "Basic dXNlcjpwYXNz",
    ],
)
def test_missing_malformed_or_unknown_token_is_401_json(agency: Any, header: str | None) -> None:
    client = Client(HTTP_HOST=agency.domain, **({"HTTP_AUTHORIZATION": header} if header else {}))
    for response in (client.get("/api/v1/tokens"),
                     client.post("/api/v1/tokens", {}, content_type="application/json")):
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert set(response.json()) >= {"error", "message"}


SCOPE_MATRIX = [
    # scopes, method, path, expected
    (["read"], "get", "/api/v1/tokens", 200),
    (["read"], "post", "/api/v1/tokens", 403),
    (["read"], "post", "/api/v1/probe/spend", 403),
    (["write"], "get", "/api/v1/tokens", 403),
    (["write"], "post", "/api/v1/tokens", 201),
    (["write"], "post", "/api/v1/probe/spend", 403),
    (["spend:write"], "get", "/api/v1/tokens", 403),
    (["spend:write"], "post", "/api/v1/tokens", 403),
    (["spend:write"], "post", "/api/v1/probe/spend", 200),
    (["spend:write"], "get", "/api/v1/probe/spend", 403),
    (["read", "spend:write"], "get", "/api/v1/probe/spend", 200),
]


@pytest.mark.parametrize("scopes, method, path, expected", SCOPE_MATRIX)
def test_scope_matrix(
    api_client: Client, agency: Any, settings: Any,
    scopes: list[str], method: str, path: str, expected: int,
) -> None:
    settings.ROOT_URLCONF = "scope_probe_urls"
    token = new_token(api_client, scopes)["token"]
    client = agency.client(token)
    payload = {"name": "made", "scopes": scopes}

    response = getattr(client, method)(path, payload, content_type="application/json") \
        if method == "post" else client.get(path)

    assert response.status_code == expected, response.content
    if expected == 403:
        assert response.json()["error"] == "permission_denied"


@pytest.mark.parametrize("holds, asks", [
    (["write"], ["read", "write", "spend:write"]),
    (["write"], ["spend:write"]),
    (["read", "write"], ["write", "spend:write"]),
])
def test_a_token_cannot_grant_scopes_it_lacks(
    api_client: Client, agency: Any, holds: list[str], asks: list[str]
) -> None:
    client = agency.client(new_token(api_client, holds)["token"])
    before = ApiToken.objects.count()

    response = client.post("/api/v1/tokens", {"name": "escalated", "scopes": asks},
                           content_type="application/json")

    assert response.status_code == 403, response.content
    assert response.json()["error"] == "permission_denied"
    assert "spend:write" in response.json()["message"] or "read" in response.json()["message"]
    assert ApiToken.objects.count() == before


def test_a_token_grants_what_it_holds(api_client: Client, agency: Any) -> None:
    client = agency.client(new_token(api_client, ["read", "write"])["token"])

    assert new_token(client, ["read"])["scopes"] == ["read"]
    assert new_token(client, ["write", "read"])["scopes"] == ["read", "write"]


def test_last_used_at_is_written_at_most_once_a_minute(
    api_client: Client, agency: Any, django_assert_num_queries: Any
) -> None:
    token = ApiToken.objects.get(agency=agency.agency)
    assert token.last_used_at is None
    api_client.get("/api/v1/tokens")
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None

    api_client.get("/api/v1/tokens")
    token.refresh_from_db()
    assert token.last_used_at == first

    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first - timedelta(minutes=2))
    api_client.get("/api/v1/tokens")
    token.refresh_from_db()
    assert token.last_used_at is not None and token.last_used_at > first - timedelta(minutes=1)
    assert token.last_used_at <= timezone.now()


def test_a_taken_prefix_is_drawn_again_not_a_500(
    api_client: Client, agency: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tenants import services, tokens

    taken = ApiToken.objects.get(agency=agency.agency).prefix
    fresh = [tokens.NewToken(taken, "0" * 64, f"{taken}_{'0' * 64}"), tokens.generate_token()]
    monkeypatch.setattr(services, "generate_token", lambda: fresh.pop(0))

    created = new_token(api_client, ["read"])

    assert created["prefix"] != taken and not fresh
    assert agency.client(created["token"]).get("/api/v1/tokens").status_code == 200


@pytest.mark.parametrize("host", ["ACME.localhost", "Acme.LocalHost"])
def test_host_names_are_case_insensitive(agency: Any, host: str) -> None:
    client = agency.client(HTTP_HOST=host)

    assert client.get("/api/v1/tokens").status_code == 200
    spend = client.post("/api/v1/brands", {"name": "B", "timezone": "UTC"},
                        content_type="application/json")
    assert spend.status_code == 201, spend.content
    assert Client(HTTP_HOST=host).get("/login/").status_code == 200


def test_a_token_cannot_revoke_a_token_with_scopes_it_lacks(
    api_client: Client, agency: Any
) -> None:
    writer = agency.client(new_token(api_client, ["write"])["token"])
    signup_token = ApiToken.objects.get(agency=agency.agency, name="Signup token")

    response = writer.delete(f"/api/v1/tokens/{signup_token.pk}")

    assert response.status_code == 403
    assert agency.client().get("/api/v1/tokens").status_code == 200  # still valid
    narrower = new_token(api_client, ["write"])
    assert writer.delete(f"/api/v1/tokens/{narrower['id']}").status_code == 204

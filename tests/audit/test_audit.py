"""The audit log: every change through the API, the admin and the dashboard, with its actor,
append-only in PostgreSQL, and each agency's own."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.db import DatabaseError, transaction
from django.test import Client
from django_tenants.utils import schema_context

from accounts.models import User
from audit.models import AuditEntry
from saas.db import connection
from tests.conftest import SignedUpAgency

pytestmark = pytest.mark.django_db


def call(agency: SignedUpAgency, method: str, path: str, body: Any = None,
         token: str | None = None) -> Any:
    response = getattr(agency.client(token), method)(
        f"/api/v1/{path}", json.dumps(body) if body is not None else None,
        content_type="application/json")
    assert response.status_code < 300, response.content
    return response.json() if response.content else None


def audit(agency: SignedUpAgency, **params: Any) -> list[dict[str, Any]]:
    response = agency.client().get("/api/v1/audit", params)
    assert response.status_code == 200, response.content
    return list(response.json()["results"])


def signup_token_actor(agency: SignedUpAgency) -> dict[str, Any]:
    token = agency.agency.tokens.get(name="Signup token")
    return {"type": "token", "id": token.pk, "name": "Signup token"}


def test_every_api_change_is_recorded_with_its_token(agency: SignedUpAgency) -> None:
    brand = call(agency, "post", "brands", {"name": "B", "timezone": "UTC",
                                            "daily_budget": "100"})
    call(agency, "patch", f"brands/{brand['id']}", {"daily_budget": "150.50", "name": "B"})
    campaign = call(agency, "post", "campaigns", {"brand": brand["id"], "name": "C"})
    call(agency, "patch", f"campaigns/{campaign['id']}", {"dayparting": True})
    call(agency, "put", f"campaigns/{campaign['id']}/schedule",
         {"windows": [{"day_of_week": 0, "start": "09:00", "end": "17:00"}]})
    call(agency, "post", f"campaigns/{campaign['id']}/pause")
    call(agency, "post", f"campaigns/{campaign['id']}/resume")
    token = call(agency, "post", "tokens", {"name": "ETL", "scopes": ["spend:write"]})
    call(agency, "delete", f"tokens/{token['id']}")
    call(agency, "delete", f"campaigns/{campaign['id']}")
    call(agency, "delete", f"brands/{brand['id']}")

    entries = list(reversed(audit(agency)))
    steps = [(e["action"], e["object"]["type"], e["object"]["id"]) for e in entries]
    assert steps == [
        ("create", "token", agency.agency.tokens.get(name="Signup token").pk),  # at signup
        ("create", "brand", brand["id"]), ("update", "brand", brand["id"]),
        ("create", "campaign", campaign["id"]), ("update", "campaign", campaign["id"]),
        ("update", "schedule", campaign["id"]), ("pause", "campaign", campaign["id"]),
        ("resume", "campaign", campaign["id"]), ("create", "token", token["id"]),
        ("revoke", "token", token["id"]), ("delete", "campaign", campaign["id"]),
        ("delete", "brand", brand["id"]),
    ]
    assert all(e["actor"] == signup_token_actor(agency) for e in entries[1:])
    assert entries[0]["actor"]["type"] == "user"
    assert entries[2]["changes"] == {"daily_budget": ["100.00", "150.50"]}
    assert entries[1]["changes"]["timezone"] == [None, "UTC"]
    assert entries[5]["changes"] == {"windows": [[], [
        {"day_of_week": 0, "start": "09:00", "end": "17:00"}]]}
    assert entries[8]["changes"] == {"name": [None, "ETL"], "scopes": [None, ["spend:write"]]}
    assert entries[11]["changes"]["name"] == ["B", None]


def test_an_edit_that_changes_nothing_is_no_entry(agency: SignedUpAgency) -> None:
    brand = call(agency, "post", "brands", {"name": "B", "timezone": "UTC"})
    call(agency, "patch", f"brands/{brand['id']}", {"name": "B"})
    assert [e["action"] for e in audit(agency, object_type="brand")] == ["create"]


def test_the_log_filters_by_object(agency: SignedUpAgency) -> None:
    first = call(agency, "post", "brands", {"name": "One", "timezone": "UTC"})
    call(agency, "post", "brands", {"name": "Two", "timezone": "UTC"})
    only = audit(agency, object_type="brand", object_id=first["id"])
    assert [(e["object"]["id"], e["action"]) for e in only] == [(first["id"], "create")]
    assert len(audit(agency, object_type="brand")) == 2
    for params in ({"object_type": "spend"}, {"object_id": "x"}, {"object_id": "²"}):
        response = agency.client().get("/api/v1/audit", params)
        assert response.status_code == 400
        assert set(response.json()["fields"]) == set(params)


def test_the_log_is_read_with_the_read_scope_only(agency: SignedUpAgency) -> None:
    spend_only = call(agency, "post", "tokens", {"name": "s", "scopes": ["spend:write"]})
    assert agency.client(spend_only["token"]).get("/api/v1/audit").status_code == 403
    assert agency.client().post("/api/v1/audit").status_code == 405


def test_each_agency_sees_only_its_own_log(make_agency: Callable[..., SignedUpAgency]) -> None:
    acme, other = make_agency("acme"), make_agency("other")
    call(acme, "post", "brands", {"name": "Secret", "timezone": "UTC"})
    seen = other.client().get("/api/v1/audit").json()["results"]
    assert [e["object"]["type"] for e in seen] == ["token"]  # its own signup token only
    on_other_host = acme.client(HTTP_HOST=other.domain).get("/api/v1/audit")
    assert on_other_host.status_code == 401


@pytest.mark.parametrize("statement", [
    "UPDATE audit_auditentry SET actor_name = 'someone else'",
    "DELETE FROM audit_auditentry",
    "TRUNCATE audit_auditentry",
])
def test_postgresql_refuses_to_change_the_log(agency: SignedUpAgency, statement: str) -> None:
    """In a signed-up agency, whose schema (and trigger) was cloned from the template."""
    with schema_context(agency.agency.schema_name):
        before = AuditEntry.objects.count()
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), \
                connection.cursor() as cursor:
            cursor.execute(statement)
        assert AuditEntry.objects.count() == before > 0


def admin_client(agency: SignedUpAgency) -> Client:
    client = Client(HTTP_HOST=agency.domain)
    with schema_context(agency.agency.schema_name):
        client.force_login(User.objects.get(email=agency.email))
    return client


INLINE_NONE = {"windows-TOTAL_FORMS": "0", "windows-INITIAL_FORMS": "0",
               "windows-MIN_NUM_FORMS": "0", "windows-MAX_NUM_FORMS": "1000"}


def test_admin_changes_are_recorded_with_the_user(agency: SignedUpAgency) -> None:
    client = admin_client(agency)
    assert client.post("/admin/campaigns/brand/add/", {
        "name": "B", "timezone": "UTC", "currency": "USD"}).status_code == 302
    with schema_context(agency.agency.schema_name):
        from campaigns.models import Brand, Campaign

        brand = Brand.objects.get()
    assert client.post("/admin/campaigns/campaign/add/", {
        "brand": brand.pk, "name": "C", "daily_budget": "", "monthly_budget": "", "pacing": "asap",
        "windows-TOTAL_FORMS": "1", "windows-INITIAL_FORMS": "0", "windows-MIN_NUM_FORMS": "0",
        "windows-MAX_NUM_FORMS": "1000", "windows-0-day_of_week": "2",
        "windows-0-start": "01:00", "windows-0-end": "02:00"}).status_code == 302
    with schema_context(agency.agency.schema_name):
        campaign = Campaign.objects.get()
        assert campaign.windows.count() == 1
    assert client.post("/admin/campaigns/campaign/", {
        "action": "pause", "_selected_action": [campaign.pk]}).status_code == 302
    assert client.post(f"/admin/campaigns/brand/{brand.pk}/change/", {
        "name": "Renamed", "timezone": "UTC", "currency": "USD"}).status_code == 302

    entries = list(reversed(audit(agency)))[1:]  # after the signup token
    with schema_context(agency.agency.schema_name):
        user = User.objects.get(email=agency.email)
    assert {e["actor"]["id"] for e in entries} == {user.pk}
    assert {e["actor"]["type"] for e in entries} == {"user"}
    assert [(e["action"], e["object"]["type"]) for e in entries] == [
        ("create", "brand"), ("create", "campaign"), ("update", "schedule"),
        ("pause", "campaign"), ("update", "brand")]
    assert entries[-1]["changes"] == {"name": ["B", "Renamed"]}


def test_the_admin_shows_the_log_read_only(agency: SignedUpAgency) -> None:
    client = admin_client(agency)
    assert client.get("/admin/audit/auditentry/").status_code == 200
    assert client.get("/admin/audit/auditentry/add/").status_code == 403
    with schema_context(agency.agency.schema_name):
        entry = AuditEntry.objects.first()
    assert entry is not None
    assert client.post(f"/admin/audit/auditentry/{entry.pk}/delete/",
                       {"post": "yes"}).status_code == 403


def test_a_spend_is_not_audited_row_by_row(agency: SignedUpAgency) -> None:
    brand = call(agency, "post", "brands", {"name": "B", "timezone": "UTC"})
    campaign = call(agency, "post", "campaigns", {"brand": brand["id"], "name": "C"})
    before = len(audit(agency))
    call(agency, "post", "spend", {"campaign": campaign["id"], "amount": "1"})
    assert len(audit(agency)) == before

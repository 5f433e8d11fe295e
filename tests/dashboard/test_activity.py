"""The Activity page, and the dashboard's own changes in the audit log."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from tests.conftest import SignedUpAgency
from tests.dashboard.conftest import csrf_token

pytestmark = pytest.mark.django_db


def audit(agency: SignedUpAgency, **params: Any) -> list[dict[str, Any]]:
    return list(agency.client().get("/api/v1/audit", params).json()["results"])


def test_dashboard_switches_are_recorded_with_the_user(
    agency: SignedUpAgency, signed_in: Client, add_brand: Callable[..., Any],
    add_campaign: Callable[..., Any],
) -> None:
    campaign = add_campaign(add_brand())
    token = csrf_token(signed_in, "/")
    signed_in.post(f"/campaigns/{campaign.pk}/pause/", {"csrfmiddlewaretoken": token})
    signed_in.post(f"/campaigns/{campaign.pk}/resume/", {"csrfmiddlewaretoken": token})

    switches = [e for e in audit(agency, object_type="campaign") if e["action"] != "create"]
    assert [e["action"] for e in switches] == ["resume", "pause"]
    assert {e["actor"]["name"] for e in switches} == {agency.email}


def test_the_activity_page_shows_who_changed_what(
    agency: SignedUpAgency, signed_in: Client
) -> None:
    agency.client().post("/api/v1/brands", json.dumps(
        {"name": "Nordic", "timezone": "UTC", "daily_budget": "9"}),
        content_type="application/json")
    page = signed_in.get("/activity/").content.decode()
    assert "Signup token" in page and "(API token)" in page
    assert "created brand" in page and "daily_budget: none → 9.00" in page

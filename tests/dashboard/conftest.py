"""Agencies with brands and campaigns, and clients signed in to their dashboards."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from campaigns import clock, services
from campaigns.models import Brand, Campaign
from tests.conftest import SignedUpAgency, actor_for_tests


def csrf_token(client: Client, path: str = "/login/") -> str:
    page = client.get(path)
    match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content)
    assert match, "the page has no CSRF field"
    return match.group(1).decode()


def sign_in(client: Client, email: str, password: str) -> Any:
    """Sign in through the page, as a browser does: GET the form, POST it with its CSRF token."""
    token = csrf_token(client)
    return client.post("/login/", {"username": email, "password": password,
                                   "csrfmiddlewaretoken": token})


@pytest.fixture
def signed_in(agency: SignedUpAgency) -> Client:
    """A browser-like client (CSRF enforced) signed in to the agency's dashboard."""
    client = Client(HTTP_HOST=agency.domain, enforce_csrf_checks=True)
    response = sign_in(client, agency.email, agency.password)
    assert response.status_code == 302, response.content
    return client


@pytest.fixture
def add_brand(agency: SignedUpAgency) -> Callable[..., Brand]:
    def add(name: str = "Brand", timezone_name: str = "Europe/Paris", **fields: Any) -> Brand:
        data = {"name": name, "timezone": timezone_name, "currency": "EUR", **fields}
        with schema_context(agency.agency.schema_name):
            return services.create_brand(data, actor=actor_for_tests(), now=timezone.now())

    return add


@pytest.fixture
def add_campaign(agency: SignedUpAgency) -> Callable[..., Campaign]:
    def add(brand: Brand, name: str = "Campaign", *,
            windows: list[clock.Window] | None = None, **fields: Any) -> Campaign:
        now = timezone.now()
        with schema_context(agency.agency.schema_name):
            edit = {"actor": actor_for_tests(), "now": now}
            campaign = services.create_campaign({"brand": brand, "name": name, **fields}, **edit)
            if windows is not None:
                services.set_schedule(campaign, windows, **edit)
                campaign = services.update_campaign(campaign, {"dayparting": True}, **edit)
            return campaign

    return add

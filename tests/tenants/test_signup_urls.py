"""The URLs a signup hands out are the ones the person can open: same scheme and port."""

from __future__ import annotations

import json

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("host", "admin_url"), [
    ("localhost", "http://ports.localhost/admin/"),
    ("localhost:8000", "http://ports.localhost:8000/admin/"),
])
def test_the_admin_url_keeps_the_port_the_client_used(host: str, admin_url: str) -> None:
    response = Client(HTTP_HOST=host).post(
        "/api/v1/signup",
        json.dumps({"name": "Ports", "slug": "ports", "email": "a@ports.example",
                    "password": "a long passphrase 42"}),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["admin_url"] == admin_url

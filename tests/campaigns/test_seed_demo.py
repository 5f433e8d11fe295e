"""`seed_demo`: the demo `make run` prints, made once and then only shown again."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django_tenants.utils import schema_context

from campaigns.models import Brand, Campaign, Spend, StatusChange
from saas.db import connection
from tenants.models import Agency
from tenants.tokens import hash_secret

pytestmark = pytest.mark.django_db


def test_seed_demo_makes_an_agency_with_thirty_days_of_spend_and_says_where_to_look(
    tmp_path: Path,
) -> None:
    output = tmp_path / "demo.txt"
    out = io.StringIO()
    call_command("seed_demo", output=str(output), stdout=out)
    details = output.read_text()
    assert "http://demo.localhost:" in details and "demo@example.com" in details
    token = next(word for word in details.split() if word.startswith("bc") and "_" in word)
    connection.set_schema_to_public()
    agency = Agency.objects.get(slug="demo")
    assert agency.tokens.filter(secret_hash=hash_secret(token)).exists()
    with schema_context(agency.schema_name):
        assert Brand.objects.count() == 3
        assert Campaign.objects.count() >= 6
        days = {d.date() for d in Spend.objects.values_list("occurred_at", flat=True)}
        # Thirty local days up to now: early in the day, today's spends have not come yet.
        assert len(days) >= 29 and max(days) - min(days) >= timedelta(days=29)
        assert StatusChange.objects.exists()
        flights = Campaign.objects.filter(start_date__isnull=False)
        assert sorted(flights.values_list("pacing", flat=True)) == ["asap", "even"]
    again = io.StringIO()
    call_command("seed_demo", output=str(output), stdout=again)
    assert "exists already" in again.getvalue()
    assert Agency.objects.filter(slug="demo").count() == 1
    connection.set_schema_to_public()

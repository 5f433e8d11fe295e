"""campaigns.status: the one writer of status, exact under concurrency."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django_tenants.utils import schema_context

from campaigns import status
from campaigns.models import Brand, Campaign, Cause, StatusChange
from saas.db import connection
from tenants.models import Agency
from tests.conftest import make_tenant

AT = datetime(2026, 3, 1, 12, tzinfo=UTC)


@pytest.fixture
def committed_agency(django_db_setup: None, django_db_blocker: Any) -> Iterator[Agency]:
    """An agency whose rows other connections (threads) can see; dropped afterwards."""
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        agency, _ = make_tenant("status-race")
        try:
            yield agency
        finally:
            connection.set_schema_to_public()
            agency.delete(force_drop=True)


def test_two_transactions_deciding_one_campaign_give_one_transition(
    committed_agency: Agency, django_db_blocker: Any
) -> None:
    with django_db_blocker.unblock(), schema_context(committed_agency.schema_name):
        brand = Brand.objects.create(name="b", timezone="UTC")
        # Stored as active although its cap is 0: both deciders will want to pause it.
        campaign = Campaign.objects.create(brand=brand, name="c", daily_budget=Decimal("0"))
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def decide() -> None:
        try:
            with (
                django_db_blocker.unblock(),
                schema_context(committed_agency.schema_name),
                transaction.atomic(),
            ):
                barrier.wait(timeout=10)
                status.decide_locked(AT, cause=Cause.JOB, brand_ids=[brand.pk])
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=decide) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    with django_db_blocker.unblock(), schema_context(committed_agency.schema_name):
        assert StatusChange.objects.filter(campaign=campaign).count() == 1
        campaign.refresh_from_db()
        assert campaign.status == "paused"
        assert campaign.pause_reasons == ["campaign_daily_budget"]


@pytest.mark.django_db
def test_the_writer_never_clears_manual_and_writes_history_only_on_change() -> None:
    connection.set_schema_to_public()
    agency, _ = make_tenant("status-manual")
    with schema_context(agency.schema_name):
        brand = Brand.objects.create(name="b", timezone="UTC")
        campaign = Campaign.objects.create(brand=brand, name="c", manual_paused=True)
        for _ in range(3):
            status.decide(AT, cause=Cause.JOB)
        campaign.refresh_from_db()
        assert campaign.pause_reasons == ["manual"] and campaign.status == "paused"
        assert StatusChange.objects.filter(campaign=campaign).count() == 1
    connection.set_schema_to_public()

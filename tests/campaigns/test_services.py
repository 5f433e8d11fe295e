"""campaigns.services, called directly: edits decide the brand again; refusals are API errors."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from campaigns import ledger, services
from campaigns.models import Brand, Campaign
from saas.errors import Conflict, InvalidInput
from tenants.models import Agency
from tests.conftest import actor_for_tests

AT = datetime(2026, 3, 1, 12, tzinfo=UTC)
EDIT = {"actor": actor_for_tests(), "now": AT}
pytestmark = pytest.mark.django_db


def test_a_campaign_is_refused_another_brand_and_keeps_its_own(in_tenant: Agency) -> None:
    brand, other = (Brand.objects.create(name=n, timezone="UTC") for n in ("a", "b"))
    campaign = services.create_campaign({"brand": brand, "name": "c"}, **EDIT)
    with pytest.raises(InvalidInput) as refused:
        services.update_campaign(campaign, {"brand": other, "name": "moved"}, **EDIT)
    assert refused.value.status == 400 and "brand" in refused.value.fields
    campaign.refresh_from_db()
    assert (campaign.brand_id, campaign.name) == (brand.pk, "c")
    same = services.update_campaign(campaign, {"brand": brand, "name": "renamed"}, **EDIT)
    assert same.name == "renamed"


def test_a_cap_edit_decides_the_campaign_at_once(in_tenant: Agency) -> None:
    brand = Brand.objects.create(name="b", timezone="UTC")
    campaign = services.create_campaign({"brand": brand, "name": "c"}, **EDIT)
    services.update_campaign(campaign, {"daily_budget": Decimal("0")}, **EDIT)
    campaign.refresh_from_db()
    assert campaign.status == "paused" and campaign.pause_reasons == ["campaign_daily_budget"]


def test_deleting_what_has_spend_is_a_409(in_tenant: Agency) -> None:
    brand = Brand.objects.create(name="b", timezone="UTC")
    campaign = Campaign.objects.create(brand=brand, name="c")
    ledger.record_spend(ledger.SpendEvent(campaign.pk, Decimal("1"), None, None),
                        now=timezone.now())
    for delete, thing in ((services.delete_campaign, campaign), (services.delete_brand, brand)):
        with pytest.raises(Conflict) as refused:
            delete(thing, **EDIT)  # type: ignore[operator]
        assert refused.value.status == 409

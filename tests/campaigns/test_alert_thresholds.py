"""`Brand.alert_thresholds`: percentages 1 to 100, each once, increasing; [80, 100] by default.
The rule is the model's, so whatever serializer or form lists the field refuses the same."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from rest_framework import serializers

from campaigns.models import Brand, validate_alert_thresholds


@pytest.mark.parametrize("thresholds", [[80, 100], [1], [100], [], [10, 20, 30, 40, 50]])
def test_whole_percentages_in_increasing_order_are_accepted(thresholds: list[int]) -> None:
    validate_alert_thresholds(thresholds)


@pytest.mark.parametrize("thresholds, message", [
    ([0], "not a whole percentage from 1 to 100"),
    ([101], "not a whole percentage from 1 to 100"),
    ([80.5], "not a whole percentage from 1 to 100"),
    ([True], "not a whole percentage from 1 to 100"),
    (["80"], "not a whole percentage from 1 to 100"),
    ([80, 80], "distinct and in increasing order"),
    ([100, 80], "distinct and in increasing order"),
    (list(range(1, 12)), "At most 10 thresholds"),
    ("80,100", "Expected a list of percentages"),
])
def test_other_lists_are_refused_saying_why(thresholds: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        validate_alert_thresholds(thresholds)


def test_a_brand_alerts_at_80_and_100_percent_by_default() -> None:
    assert Brand(name="B", timezone="UTC").alert_thresholds == [80, 100]


class BrandThresholds(serializers.ModelSerializer[Brand]):
    """What the brand serializer gets by listing the field: the model's own validation."""

    class Meta:
        model = Brand
        fields = ["alert_thresholds"]


def test_a_serializer_listing_the_field_refuses_with_the_models_message() -> None:
    body = BrandThresholds(data={"alert_thresholds": [100, 80]})
    assert not body.is_valid()
    assert "increasing order" in str(body.errors["alert_thresholds"])
    assert BrandThresholds(data={"alert_thresholds": [50, 90]}).is_valid()


def test_a_brand_inserted_by_sql_alone_gets_the_default_too(in_tenant: Any) -> None:
    from saas.db import connection

    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO campaigns_brand (name, timezone, currency, created_at) "
                       "VALUES ('B', 'UTC', 'USD', now()) RETURNING alert_thresholds")
        assert cursor.fetchone() == ([80, 100],)

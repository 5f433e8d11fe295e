"""Threshold crossings under concurrent writers, through HTTP from threads with their own
connections, on a committed agency: each threshold of each budget and period once."""

from __future__ import annotations

from typing import Any

import pytest

from saas.db import connection
from tests.campaigns.test_spend_concurrency import run_threads
from tests.conftest import Api
from tests.notifications.test_decision_events import (
    assert_every_status_change_is_an_event,
    thresholds,
)


@pytest.mark.django_db
def test_this_module_runs_on_the_test_database() -> None:
    """Its django_db mark makes pytest-django create the test database even when only this
    module runs: the committed agency below must never land in a real one."""
    assert connection.settings_dict["NAME"].startswith("test_")


def test_concurrent_writers_cross_each_threshold_once(committed_api: Api) -> None:
    api = committed_api
    brand = api.brand(daily_budget="100", alert_thresholds=[20, 40, 60, 80, 100])
    campaigns = [api.campaign(brand, name=f"C{n}", daily_budget="30") for n in range(3)]
    other = api.brand(name="Other", daily_budget="50")
    elsewhere = api.campaign(other, name="Elsewhere")

    def spend(own: Api, n: int) -> list[Any]:
        target = elsewhere if n % 4 == 3 else campaigns[n % 4]
        return [own.post("spend", {"campaign": target["id"], "amount": "2.5",
                                   "event_id": f"c-{n}-{k}"}).status_code for k in range(10)]

    codes = run_threads(api, spend)
    assert set(codes) == {201}
    crossed = thresholds(api)
    assert len(crossed) == len(set((s, i, b, t, p) for s, i, b, t, p, _, _ in crossed))
    assert sorted(t for s, i, _, t, _, _, _ in crossed if (s, i) == ("brand", brand["id"])) == [
        20, 40, 60, 80, 100]  # 150 of 100 spent
    assert sorted(t for s, i, _, t, _, _, _ in crossed if (s, i) == ("brand", other["id"])) == [
        80, 100]  # 50 of 50
    assert_every_status_change_is_an_event(api)

"""`GET /api/v1/campaigns/{id}/history`: each change with its cause, the overshoot of the
budgets it added and, for edits and the manual switch, who acted (user or token)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api

pytestmark = pytest.mark.django_db


def history(api: Api, campaign: dict[str, Any]) -> list[dict[str, Any]]:
    return list(api.ok(api.get(f"campaigns/{campaign['id']}/history"))["results"])


def robot(api: Api) -> tuple[Api, dict[str, Any]]:
    """The agency's API as a second token, named "robot"."""
    created = api.ok(api.post("tokens", {"name": "robot", "scopes": ["read", "write"]}), 201)
    return Api(client=api.client, token=created["token"], agency=api.agency), created


def test_edits_and_switches_by_a_token_name_it_in_the_history(api: Api) -> None:
    campaign = api.campaign(api.brand())
    as_robot, token = robot(api)
    as_robot.ok(as_robot.patch(f"campaigns/{campaign['id']}", {"daily_budget": "0"}))
    as_robot.ok(as_robot.patch(f"campaigns/{campaign['id']}", {"daily_budget": None}))
    as_robot.ok(as_robot.post(f"campaigns/{campaign['id']}/pause"))
    as_robot.ok(as_robot.post(f"campaigns/{campaign['id']}/resume"))

    entries = history(api, campaign)[::-1]  # oldest first
    assert [(e["from"], e["to"], e["cause"]) for e in entries] == [
        ("active", "paused", "edit"), ("paused", "active", "edit"),
        ("active", "paused", "manual"), ("paused", "active", "manual")]
    actor = {"type": "token", "id": token["id"], "name": "robot"}
    assert [e["actor"] for e in entries] == [actor] * 4
    assert entries[0]["overshoot"] == {"campaign_daily_budget": "0.00"}
    assert [e["overshoot"] for e in entries[1:]] == [{}, {}, {}]


def test_a_schedule_edit_names_its_actor(api: Api) -> None:
    campaign = api.campaign(api.brand(), dayparting=True)  # no windows: never runs
    as_robot, token = robot(api)
    as_robot.ok(as_robot.put(f"campaigns/{campaign['id']}/schedule", {"windows": [
        {"day_of_week": day, "start": "00:00", "end": "24:00"} for day in range(7)]}))
    newest = history(api, campaign)[0]
    assert (newest["to"], newest["cause"]) == ("active", "edit")
    assert newest["actor"] == {"type": "token", "id": token["id"], "name": "robot"}


def test_spend_and_jobs_have_no_actor(api: Api) -> None:
    campaign = api.campaign(api.brand(), daily_budget="5")
    api.spend(campaign, "6")
    (entry,) = history(api, campaign)
    assert (entry["cause"], entry["actor"]) == ("spend", None)
    api.run_jobs("2099-01-01T00:00:30+00:00")  # another day: the budget holds no more
    newest = history(api, campaign)[0]
    assert (newest["to"], newest["cause"], newest["actor"], newest["overshoot"]) == (
        "active", "job", None, {})


def test_history_entries_have_the_contracts_fields(api: Api) -> None:
    campaign = api.campaign(api.brand(), daily_budget="0")
    (entry,) = history(api, campaign)
    assert set(entry) == {"at", "from", "to", "reasons", "cause", "overshoot", "actor"}

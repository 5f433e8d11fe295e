"""The Activity page: the audit log in words. Pure over rows already read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from audit.models import Action, AuditEntry, ObjectType
from dashboard.display import DAY_NAMES, EN_DASH

ACTION_TEXT: dict[str, str] = {
    Action.CREATE: "created", Action.UPDATE: "changed", Action.DELETE: "deleted",
    Action.PAUSE: "paused", Action.RESUME: "resumed", Action.REVOKE: "revoked",
}
LIMIT = 100


@dataclass(frozen=True)
class Line:
    at: str
    actor: str
    actor_is_token: bool
    what: str  # "changed brand 3"
    changes: list[str]  # "daily_budget: 100.00 → 150.00"


def change_text(field: str, pair: list[Any]) -> str:
    old, new = (_value_text(value) for value in pair)
    return f"{field}: {old} → {new}"


def _value_text(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, list) and value and isinstance(value[0], dict):  # schedule windows
        return ", ".join(f"{DAY_NAMES[w['day_of_week']]} {w['start']}{EN_DASH}{w['end']}"
                         for w in value)
    if isinstance(value, list):
        return ", ".join(str(item) for item in value) or "none"
    return str(value)


def lines(entries: list[AuditEntry]) -> list[Line]:
    return [
        Line(at=f"{entry.at:%Y-%m-%d %H:%M} UTC", actor=entry.actor_name,
             actor_is_token=entry.actor_type == "token",
             what=f"{ACTION_TEXT.get(entry.action, entry.action)} "
                  f"{ObjectType(entry.object_type).label.lower()} {entry.object_id}",
             changes=[change_text(field, pair) for field, pair in entry.changes.items()])
        for entry in entries
    ]

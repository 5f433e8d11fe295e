"""Writing the audit log: the only code that adds entries. Services call `record` inside the
transaction of the change they make, so an entry exists exactly when its change does."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from audit.models import Action, ActorType, AuditEntry, ObjectType
from campaigns.money import format_amount
from tenants.auth import TokenUser

OPERATOR_ID = 0  # no agency user has it: ids start at 1


@dataclass(frozen=True)
class Actor:
    """Who acts: a signed-in user (dashboard, admin) or an API token."""

    type: str  # ActorType
    id: int
    name: str

    @classmethod
    def user(cls, user: Any) -> Actor:
        return cls(ActorType.USER, int(user.pk), str(user.email))

    @classmethod
    def operator(cls, user: Any) -> Actor:
        """A platform operator (the public admin) acting in an agency: a user of the public
        schema, whose id would name one of the agency's own users there, so id 0."""
        return cls(ActorType.USER, OPERATOR_ID, f"platform operator {user.email}")

    @classmethod
    def token(cls, token_id: int, name: str) -> Actor:
        return cls(ActorType.TOKEN, token_id, name)


def actor_of(request: Any) -> Actor:
    """The actor of a request: its API token (DRF's `request.user`), else its signed-in user."""
    user = request.user
    if isinstance(user, TokenUser):
        return Actor.token(user.token_id, user.name)
    return Actor.user(user)


def shown(value: Any) -> Any:
    """A value as the API shows it, storable as JSON: money as its decimal text."""
    if isinstance(value, Decimal):
        return format_amount(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [shown(item) for item in value]
    if hasattr(value, "pk"):  # a related object: its id, as the API names it
        return value.pk
    return value


def changes_between(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """`{"field": [old, new]}` for the fields whose shown value differs."""
    fields = list(dict.fromkeys([*before, *after]))
    changed = {name: [shown(before.get(name)), shown(after.get(name))] for name in fields}
    return {name: pair for name, pair in changed.items() if pair[0] != pair[1]}


def record(actor: Actor, action: Action, object_type: ObjectType, object_id: int, *,
           at: datetime, changes: Mapping[str, list[Any]] | None = None) -> AuditEntry:
    return AuditEntry.objects.create(
        at=at, actor_type=actor.type, actor_id=actor.id, actor_name=actor.name, action=action,
        object_type=object_type, object_id=object_id, changes=dict(changes or {}))

"""The only writer of a campaign's stored status, its pause reasons and its history.

Decisions are serialised per brand: `decide` locks the brands' rows before it reads the spend
sums, so a spend and a job (or two spends) deciding the same brand never act on stale sums. The
decision is taken here, in Python: the reasons are the rules' (`manual` among them, read from
the user's own switch under the brand lock, which every switch also takes), and the status
follows from them (`status_for`). The write only stores the values it is given, in one statement
that compares them with the row as it locks it: it writes a history row only when the reasons
change, and two transactions deciding the same campaign give one transition, not two.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from campaigns import rules, selectors
from campaigns.models import Campaign, Status, StatusChange
from saas.db import compose, connection

ACTIVE, PAUSED = Status.ACTIVE.value, Status.PAUSED.value


@dataclass(frozen=True)
class Transition:
    campaign_id: int
    from_status: str
    to_status: str
    reasons: list[str]


def status_for(reasons: Sequence[str]) -> str:
    """A campaign is paused exactly when something stops it."""
    return PAUSED if reasons else ACTIVE


# The ORM has no form for "update where the locked row differs, and keep a history row of each
# change" in one statement. FOR UPDATE waits for a concurrent decider and then sees the row as
# it left it, so the comparison is with what is stored, not with what was read.
APPLY_SQL = compose("""
WITH decided AS (
    SELECT * FROM jsonb_to_recordset(%(decided)s::jsonb) AS d(id bigint, status text,
                                                              reasons text[])
), locked AS (
    SELECT c.id, c.status, c.pause_reasons
    FROM {campaign} c JOIN decided d ON d.id = c.id
    ORDER BY c.id
    FOR UPDATE OF c
), changed AS (
    UPDATE {campaign} c
    SET status = d.status, pause_reasons = d.reasons::varchar(32)[], status_changed_at = %(at)s
    FROM locked l JOIN decided d ON d.id = l.id
    WHERE c.id = l.id AND l.pause_reasons::text[] IS DISTINCT FROM d.reasons
    RETURNING c.id, l.status AS from_status
), history AS (
    INSERT INTO {history} (campaign_id, at, from_status, to_status, reasons, cause)
    SELECT ch.id, %(at)s, ch.from_status, d.status, d.reasons::varchar(32)[], %(cause)s
    FROM changed ch JOIN decided d ON d.id = ch.id
)
SELECT id, from_status FROM changed
""", campaign=Campaign, history=StatusChange)


@dataclass(frozen=True)
class StoredStatus:
    status: str
    pause_reasons: list[str]


@dataclass(frozen=True)
class Decision:
    transitions: list[Transition]
    stored: dict[int, StoredStatus]  # every decided campaign, as it is now stored


def apply(
    evaluations: Mapping[int, rules.Evaluation], *, at: datetime, cause: str
) -> Decision:
    """Store each evaluation's reasons and the status they give; one statement in all."""
    if not evaluations:
        return Decision([], {})
    decided = {campaign_id: evaluation.ordered_reasons()
               for campaign_id, evaluation in sorted(evaluations.items())}
    stored = {campaign_id: StoredStatus(status_for(reasons), reasons)
              for campaign_id, reasons in decided.items()}
    document = json.dumps([{"id": campaign_id, "status": state.status,
                            "reasons": state.pause_reasons}
                           for campaign_id, state in stored.items()])
    with connection.cursor() as cursor:
        cursor.execute(APPLY_SQL, {"decided": document, "at": at, "cause": cause})
        changed = sorted(cursor.fetchall())
    transitions = [
        Transition(campaign_id, from_status, stored[campaign_id].status,
                   stored[campaign_id].pause_reasons)
        for campaign_id, from_status in changed
    ]
    return Decision(transitions, stored)


def lock_brands(brand_ids: Iterable[int] | None) -> list[selectors.BrandRow]:
    """Lock the brands' rows (all when None) in id order, so lockers never deadlock."""
    return selectors.brand_rows(brand_ids, lock=True)


def decide(at: datetime, *, cause: str, brand_ids: Iterable[int] | None = None) -> Decision:
    """Re-evaluate every campaign of the brands (all brands when None) at `at` and store it."""
    with transaction.atomic():
        return decide_brands(at, cause=cause, brands=lock_brands(brand_ids))


def decide_locked(at: datetime, *, cause: str, brand_ids: Iterable[int]) -> Decision:
    """`decide` for a caller that holds the brands' locks and may have just edited them."""
    return decide_brands(at, cause=cause, brands=selectors.brand_rows(brand_ids))


def decide_brands(
    at: datetime, *, cause: str, brands: Sequence[selectors.BrandRow]
) -> Decision:
    """`decide` for brands whose rows the caller has just locked and read: one read, and one
    write only when some campaign's reasons change (under the brands' locks nobody else can
    change them in between)."""
    current = selectors.snapshot_of(at, brands)
    evaluations = current.evaluate_all()
    changed = {
        campaign_id: evaluation for campaign_id, evaluation in evaluations.items()
        if evaluation.ordered_reasons() != current.campaigns[campaign_id].stored_reasons
    }
    decision = apply(changed, at=at, cause=cause)
    for campaign_id, state in current.campaigns.items():
        if campaign_id not in decision.stored:
            reasons = state.stored_reasons
            decision.stored[campaign_id] = StoredStatus(status_for(reasons), reasons)
    return decision

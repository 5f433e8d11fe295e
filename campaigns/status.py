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
from typing import Any

from django.db import transaction

from campaigns import due, pacing, rules, selectors
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
# it left it, so the comparison is with what is stored, not with what was read. A campaign
# whose reasons stay but whose `next_change_at` moves (a new day, an edited schedule) gets the
# new instant and no history row.
APPLY_SQL = compose("""
WITH decided AS (
    SELECT * FROM jsonb_to_recordset(%(decided)s::jsonb) AS d(id bigint, status text,
                                                              reasons text[],
                                                              next_change_at timestamptz)
), locked AS (
    SELECT c.id, c.status, c.pause_reasons, c.next_change_at
    FROM {campaign} c JOIN decided d ON d.id = c.id
    ORDER BY c.id
    FOR UPDATE OF c
), changed AS (
    UPDATE {campaign} c
    SET status = d.status, pause_reasons = d.reasons::varchar(32)[],
        status_changed_at = CASE WHEN l.pause_reasons::text[] IS DISTINCT FROM d.reasons
                                 THEN %(at)s ELSE c.status_changed_at END,
        next_change_at = d.next_change_at
    FROM locked l JOIN decided d ON d.id = l.id
    WHERE c.id = l.id AND (l.pause_reasons::text[] IS DISTINCT FROM d.reasons
                           OR l.next_change_at IS DISTINCT FROM d.next_change_at)
    RETURNING c.id, l.status AS from_status,
              l.pause_reasons::text[] IS DISTINCT FROM d.reasons AS transition
), history AS (
    INSERT INTO {history} (campaign_id, at, from_status, to_status, reasons, cause)
    SELECT ch.id, %(at)s, ch.from_status, d.status, d.reasons::varchar(32)[], %(cause)s
    FROM changed ch JOIN decided d ON d.id = ch.id
    WHERE ch.transition
)
SELECT id, from_status FROM changed WHERE transition
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
    evaluations: Mapping[int, rules.Evaluation], *, at: datetime, cause: str,
    next_change_at: Mapping[int, datetime],
) -> Decision:
    """Store each evaluation's reasons, the status they give and the campaign's
    `next_change_at`; one statement in all."""
    if not evaluations:
        return Decision([], {})
    decided = {campaign_id: evaluation.ordered_reasons()
               for campaign_id, evaluation in sorted(evaluations.items())}
    stored = {campaign_id: StoredStatus(status_for(reasons), reasons)
              for campaign_id, reasons in decided.items()}
    document = json.dumps([{"id": campaign_id, "status": state.status,
                            "reasons": state.pause_reasons,
                            "next_change_at": next_change_at[campaign_id].isoformat()}
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


def next_changes(current: selectors.Snapshot) -> dict[int, datetime]:
    """Each campaign's `pacing.next_change_at` after the snapshot's instant, computed once per
    zone and schedule (a brand's campaigns mostly share both)."""
    computed: dict[tuple[Any, ...], datetime] = {}
    upcoming = {}
    for campaign_id, state in current.campaigns.items():
        key = (state.tz.key, state.dayparting and tuple(state.windows))
        if key not in computed:
            computed[key] = pacing.next_change_at(current.at, state.tz, state.windows,
                                                  state.dayparting)
        upcoming[campaign_id] = computed[key]
    return upcoming


def _earlier(new: datetime, stored: datetime | None) -> bool:
    return stored is None or new < stored


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
    at: datetime, *, cause: str, brands: Sequence[selectors.BrandRow],
    lower_marker: bool = True,
) -> Decision:
    """`decide` for brands whose rows the caller has just locked and read: one read, and one
    write only when some campaign's reasons or `next_change_at` change (under the brands' locks
    nobody else can change them in between).

    A `next_change_at` moved earlier (or set for the first time) lowers the agency's pass
    marker (`due.lower`, one upsert), unless `lower_marker` is off: a pass sets the marker
    itself once it has decided (`due.raise_marker`).
    """
    current = selectors.snapshot_of(at, brands)
    evaluations = current.evaluate_all()
    upcoming = next_changes(current)
    changed = {
        campaign_id: evaluation for campaign_id, evaluation in evaluations.items()
        if evaluation.ordered_reasons() != current.campaigns[campaign_id].stored_reasons
        or upcoming[campaign_id] != current.campaigns[campaign_id].stored_next_change_at
    }
    decision = apply(changed, at=at, cause=cause, next_change_at=upcoming)
    earlier = [upcoming[campaign_id] for campaign_id in changed
               if _earlier(upcoming[campaign_id],
                           current.campaigns[campaign_id].stored_next_change_at)]
    if earlier and lower_marker:
        due.lower(min(earlier))
    for campaign_id, state in current.campaigns.items():
        if campaign_id not in decision.stored:
            reasons = state.stored_reasons
            decision.stored[campaign_id] = StoredStatus(status_for(reasons), reasons)
    return decision

"""The only writer of a campaign's stored status, its pause reasons and its history.

Decisions are serialised per brand: `decide` locks the brands' rows before it reads the spend
sums, so a spend and a job (or two spends) deciding the same brand never act on stale sums. The
decision is taken here, in Python: the reasons are the rules' (`manual` among them, read from
the user's own switch under the brand lock, which every switch also takes), and the status
follows from them (`status_for`). The write only stores the values it is given, in one statement
that compares them with the row as it locks it: it writes a history row only when the reasons
change, and two transactions deciding the same campaign give one transition, not two.

Each history row says how far spend went past the budgets the change added (`overshoot`, from
the rules) and, for an edit or a manual switch, who acted. A change of status is also an event
(`campaign.paused`, `campaign.resumed`), recorded in the same transaction by `publish`, which
the deciding transaction calls as its last statement (see `notifications.events`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction

from audit.log import Actor
from campaigns import due, pacing, rules, selectors
from campaigns.models import Campaign, Status, StatusChange
from notifications.events import NewEvent, overshoot_text, record_events, status_change_events
from saas.db import compose, connection

ACTIVE, PAUSED = Status.ACTIVE.value, Status.PAUSED.value


@dataclass(frozen=True)
class Transition:
    campaign_id: int
    from_status: str
    to_status: str
    reasons: list[str]
    # The budget reasons the change added, with how far spend went past each: the history
    # entry's and the event's `overshoot` (empty when it added none).
    overshoot: Mapping[str, Decimal] = field(default_factory=dict)


def status_for(reasons: Sequence[str]) -> str:
    """A campaign is paused exactly when something stops it."""
    return PAUSED if reasons else ACTIVE


# The ORM has no form for "update where the locked row differs, and keep a history row of each
# change" in one statement. FOR UPDATE waits for a concurrent decider and then sees the row as
# it left it, so the comparison is with what is stored, not with what was read. A campaign
# whose reasons stay but whose `next_change_at` moves (a new day, an edited schedule) gets the
# new instant and no history row. The campaigns are found by their ids as one array
# (`= ANY(ARRAY(...))`, an index condition on the primary key): joined with the decided rows,
# estimated at 100, PostgreSQL hash-joined a scan of all the agency's campaigns, twice.
APPLY_SQL = compose("""
WITH decided AS (
    SELECT * FROM jsonb_to_recordset(%(decided)s::jsonb) AS d(id bigint, status text,
                                                              reasons text[],
                                                              next_change_at timestamptz,
                                                              overshoot jsonb)
), locked AS (
    SELECT c.id, c.status, c.pause_reasons, c.next_change_at
    FROM {campaign} c
    WHERE c.id = ANY(ARRAY(SELECT id FROM decided))
    ORDER BY c.id
    FOR UPDATE OF c
), changed AS (
    UPDATE {campaign} c
    SET status = d.status, pause_reasons = d.reasons::varchar(32)[],
        status_changed_at = CASE WHEN l.pause_reasons::text[] IS DISTINCT FROM d.reasons
                                 THEN %(at)s ELSE c.status_changed_at END,
        next_change_at = d.next_change_at
    FROM locked l JOIN decided d ON d.id = l.id
    WHERE c.id = ANY(ARRAY(SELECT id FROM locked)) AND c.id = l.id
      AND (l.pause_reasons::text[] IS DISTINCT FROM d.reasons
           OR l.next_change_at IS DISTINCT FROM d.next_change_at)
    RETURNING c.id, l.status AS from_status, c.name, c.brand_id,
              l.pause_reasons::text[] IS DISTINCT FROM d.reasons AS transition
), history AS (
    INSERT INTO {history} (campaign_id, at, from_status, to_status, reasons, cause, overshoot,
                           actor_type, actor_id, actor_name)
    SELECT ch.id, %(at)s, ch.from_status, d.status, d.reasons::varchar(32)[], %(cause)s,
           d.overshoot, %(actor_type)s, %(actor_id)s, %(actor_name)s
    FROM changed ch JOIN decided d ON d.id = ch.id
    WHERE ch.transition
)
SELECT id, from_status, name, brand_id FROM changed WHERE transition
""", campaign=Campaign, history=StatusChange)


@dataclass(frozen=True)
class StoredStatus:
    status: str
    pause_reasons: list[str]


@dataclass(frozen=True)
class Decision:
    transitions: list[Transition]
    stored: dict[int, StoredStatus]  # every decided campaign, as it is now stored
    # `campaign.paused` / `campaign.resumed` of the transitions that change the status: the
    # deciding transaction records them last, with `publish`.
    events: list[NewEvent] = field(default_factory=list)
    snapshot: selectors.Snapshot | None = None  # what `decide_brands` decided on


def apply(
    evaluations: Mapping[int, rules.Evaluation], *, at: datetime, cause: str,
    next_change_at: Mapping[int, datetime],
    previous: Mapping[int, Sequence[str]] | None = None, actor: Actor | None = None,
) -> Decision:
    """Store each evaluation's reasons, the status they give and the campaign's
    `next_change_at`; one statement in all. A history row (and an event) is written only
    where the reasons change.

    Each history row carries the overshoot of the budget reasons it adds to `previous` (the
    reasons as stored, which the caller read under the brands' locks, so they are the ones the
    statement locks) and, for an edit or a manual switch, who acted. The status changes'
    events come back in the Decision: the caller's transaction records them with `publish`,
    so a history row and its event commit together or not at all.
    """
    if not evaluations:
        return Decision([], {})
    if not connection.in_atomic_block:
        raise RuntimeError("status.apply outside a transaction: its history and its events "
                           "must commit together")
    previous = previous or {}
    decided = {campaign_id: evaluation.ordered_reasons()
               for campaign_id, evaluation in sorted(evaluations.items())}
    stored = {campaign_id: StoredStatus(status_for(reasons), reasons)
              for campaign_id, reasons in decided.items()}
    overshoot = {campaign_id: evaluations[campaign_id].overshoot_added(
                     previous.get(campaign_id, ()))
                 for campaign_id in decided}
    document = json.dumps([{"id": campaign_id, "status": state.status,
                            "reasons": state.pause_reasons,
                            "next_change_at": next_change_at[campaign_id].isoformat(),
                            "overshoot": overshoot_text(overshoot[campaign_id])}
                           for campaign_id, state in stored.items()])
    with connection.cursor() as cursor:
        cursor.execute(APPLY_SQL, {
            "decided": document, "at": at, "cause": cause,
            "actor_type": actor.type if actor else "", "actor_id": actor.id if actor else None,
            "actor_name": actor.name if actor else "",
        })
        changed = sorted(cursor.fetchall())
    transitions = [
        Transition(campaign_id, from_status, stored[campaign_id].status,
                   stored[campaign_id].pause_reasons, overshoot[campaign_id])
        for campaign_id, from_status, _name, _brand in changed
    ]
    events = status_change_events(
        transitions, at=at, cause=cause,
        campaigns={campaign_id: (name, brand_id) for campaign_id, _, name, brand_id in changed},
        overshoot={t.campaign_id: t.overshoot for t in transitions})
    return Decision(transitions, stored, events)


def publish(decision: Decision, *also: NewEvent) -> None:
    """Record the decision's events, and `also` (the ledger's threshold crossings), as the
    last statement of the deciding transaction.

    `record_events` takes the agency's ordering lock, which every other transaction writing
    events of the agency waits for until this one ends: taken here, just before the commit,
    it is held for the commit alone, so concurrent spends on different brands of one agency
    are serialised no longer than that. A decision that changes no status takes no lock.
    """
    record_events([*decision.events, *also])


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


def decide(at: datetime, *, cause: str, brand_ids: Iterable[int] | None = None,
           actor: Actor | None = None) -> Decision:
    """Re-evaluate every campaign of the brands (all brands when None) at `at` and store it,
    with its events, in a transaction of its own."""
    with transaction.atomic():
        decision = decide_brands(at, cause=cause, brands=lock_brands(brand_ids), actor=actor)
        publish(decision)
        return decision


def decide_locked(at: datetime, *, cause: str, brand_ids: Iterable[int],
                  actor: Actor | None = None) -> Decision:
    """`decide` for a caller that holds the brands' locks and may have just edited them; the
    caller `publish`es the decision before it commits."""
    return decide_brands(at, cause=cause, brands=selectors.brand_rows(brand_ids), actor=actor)


def decide_brands(
    at: datetime, *, cause: str, brands: Sequence[selectors.BrandRow],
    actor: Actor | None = None, lower_marker: bool = True,
) -> Decision:
    """`decide` for brands whose rows the caller has just locked and read: one read, and one
    write only when some campaign's reasons or `next_change_at` change (under the brands' locks
    nobody else can change them in between). `actor` is who made the edit or flipped the manual
    switch (None for spend and jobs). The caller `publish`es the decision last, before it
    commits.

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
    decision = apply(changed, at=at, cause=cause, next_change_at=upcoming, actor=actor,
                     previous={campaign_id: current.campaigns[campaign_id].stored_reasons
                               for campaign_id in changed})
    earlier = [upcoming[campaign_id] for campaign_id in changed
               if _earlier(upcoming[campaign_id],
                           current.campaigns[campaign_id].stored_next_change_at)]
    if earlier and lower_marker:
        due.lower(min(earlier))
    for campaign_id, state in current.campaigns.items():
        if campaign_id not in decision.stored:
            reasons = state.stored_reasons
            decision.stored[campaign_id] = StoredStatus(status_for(reasons), reasons)
    return replace(decision, snapshot=current)

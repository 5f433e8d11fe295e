"""The only writer of a campaign's stored status, its pause reasons and its history.

Decisions are serialised per brand: `decide` locks the brands' rows before it reads the spend
sums, so a spend and a job (or two spends) deciding the same brand never act on stale sums. The
write itself is one statement that compares with the row as locked, so it writes a history row
only when the reasons change, and two transactions deciding the same campaign give one
transition, not two. `manual` comes from the row's own switch at write time: the system can
neither set nor clear it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from campaigns import rules, selectors
from campaigns.models import Status
from saas.db import connection

MANUAL = "manual"
ACTIVE, PAUSED = Status.ACTIVE.value, Status.PAUSED.value


@dataclass(frozen=True)
class Transition:
    campaign_id: int
    from_status: str
    to_status: str
    reasons: list[str]


APPLY_SQL = """
WITH decided AS (
    SELECT * FROM unnest(%(ids)s::bigint[], %(reasons)s::text[]) AS d(id, reasons_csv)
), locked AS (
    SELECT c.id, c.status, c.pause_reasons, c.manual_paused
    FROM campaigns_campaign c JOIN decided d ON d.id = c.id
    ORDER BY c.id
    FOR UPDATE OF c
), target AS (
    SELECT l.id, l.status AS old_status, l.pause_reasons AS old_reasons,
           (CASE WHEN l.manual_paused THEN ARRAY['manual'] ELSE ARRAY[]::text[] END)
           || coalesce(string_to_array(nullif(d.reasons_csv, ''), ','), ARRAY[]::text[])
           AS new_reasons
    FROM locked l JOIN decided d ON d.id = l.id
), changed AS (
    UPDATE campaigns_campaign c
    SET pause_reasons = t.new_reasons::varchar(32)[],
        status = CASE WHEN cardinality(t.new_reasons) > 0 THEN 'paused' ELSE 'active' END,
        status_changed_at = %(at)s
    FROM target t
    WHERE c.id = t.id AND t.old_reasons::text[] IS DISTINCT FROM t.new_reasons
    RETURNING c.id, t.old_status, c.status, c.pause_reasons
), history AS (
    INSERT INTO campaigns_statuschange (campaign_id, at, from_status, to_status, reasons, cause)
    SELECT id, %(at)s, old_status, status, pause_reasons, %(cause)s FROM changed
)
SELECT t.id, t.old_status, t.new_reasons, ch.id IS NOT NULL
FROM target t LEFT JOIN changed ch ON ch.id = t.id
"""


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
    """Store the evaluations' reasons (with the row's own `manual`); one statement in all."""
    if not evaluations:
        return Decision([], {})
    ids = sorted(evaluations)
    reasons = [
        ",".join(r for r in evaluations[i].ordered_reasons() if r != MANUAL) for i in ids
    ]
    with connection.cursor() as cursor:
        cursor.execute(APPLY_SQL, {"ids": ids, "reasons": reasons, "at": at, "cause": cause})
        rows = cursor.fetchall()
    transitions, stored = [], {}
    for campaign_id, old_status, new_reasons, changed in rows:
        new_status = PAUSED if new_reasons else ACTIVE
        stored[campaign_id] = StoredStatus(new_status, list(new_reasons))
        if changed:
            transitions.append(Transition(campaign_id, old_status, new_status, list(new_reasons)))
    return Decision(sorted(transitions, key=lambda t: t.campaign_id), stored)


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
            decision.stored[campaign_id] = StoredStatus(PAUSED if reasons else ACTIVE, reasons)
    return decision

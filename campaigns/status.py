"""The only writer of a campaign's stored status, its pause reasons and its history.

Decisions are serialised per brand: `decide` locks the brands' rows before it reads the spend
sums, so a spend and a job (or two spends) deciding the same brand never act on stale sums. The
write itself is one statement that compares with the row as locked, so it writes a history row
only when the reasons change, and two transactions deciding the same campaign give one
transition, not two. `manual` comes from the row's own switch at write time: the system can
neither set nor clear it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from campaigns import rules, selectors
from campaigns.models import Brand
from saas.db import connection

MANUAL = "manual"


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
)
INSERT INTO campaigns_statuschange (campaign_id, at, from_status, to_status, reasons, cause)
SELECT id, %(at)s, old_status, status, pause_reasons, %(cause)s FROM changed
RETURNING campaign_id, from_status, to_status, reasons
"""


def apply(
    evaluations: Mapping[int, rules.Evaluation], *, at: datetime, cause: str
) -> list[Transition]:
    """Store the evaluations' reasons (with the row's own `manual`); one statement in all."""
    if not evaluations:
        return []
    ids = sorted(evaluations)
    reasons = [
        ",".join(r for r in evaluations[i].ordered_reasons() if r != MANUAL) for i in ids
    ]
    with connection.cursor() as cursor:
        cursor.execute(APPLY_SQL, {"ids": ids, "reasons": reasons, "at": at, "cause": cause})
        rows = cursor.fetchall()
    return [Transition(cid, old, new, list(why)) for cid, old, new, why in rows]


def lock_brands(brand_ids: Iterable[int] | None) -> list[int]:
    """Lock the brands' rows in id order (no deadlocks between lockers) and return their ids."""
    brands = Brand.objects.select_for_update().order_by("id")
    if brand_ids is not None:
        brands = brands.filter(id__in=list(brand_ids))
    return list(brands.values_list("id", flat=True))


def decide(
    at: datetime, *, cause: str, brand_ids: Iterable[int] | None = None
) -> list[Transition]:
    """Re-evaluate every campaign of the brands (all brands when None) at `at` and store it."""
    with transaction.atomic():
        locked = lock_brands(brand_ids)
        if not locked:
            return []
        return decide_locked(at, cause=cause, brand_ids=locked)


def decide_locked(at: datetime, *, cause: str, brand_ids: list[int]) -> list[Transition]:
    """`decide` for a caller that already holds the brands' locks in its transaction."""
    current = selectors.snapshot(at, brand_ids=brand_ids)
    return apply(current.evaluate_all(), at=at, cause=cause)

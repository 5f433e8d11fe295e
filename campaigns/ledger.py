"""The only writer of spend: the ledger rows, the local day and month totals, and the decision
that follows, all in one transaction so the spend that uses up a budget answers paused.

One set-based write path serves a single event and a batch of a thousand alike:

1. lock the touched brands' rows in id order (this also checks that the campaigns exist), so
   every decision about a brand sees the spend written before it and retries of one event
   serialise;
2. one statement inserts the events (`ON CONFLICT (event_id) DO NOTHING`: the unique constraint
   decides which of two concurrent retries is first) and adds only the rows it actually
   inserted to the day and month totals with one grouped atomic upsert;
3. one `status.decide_brands` for the touched brands, under the locks already held;
4. the status changes' events and the alert thresholds the write crossed (found from what the
   write answers, no query of their own but for the brand total of a period other than the
   current day and month), recorded last, just before the commit (`status.publish`).

The query count depends on none of the batch size, the number of campaigns or brands.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cached_property
from typing import Any, TypeVar

from django.db import NotSupportedError, transaction
from django.db.models import Model
from django.db.models.functions import TruncDate
from psycopg import sql

from campaigns import clock, rules, selectors, status
from campaigns.models import Brand, Campaign, Cause, Period, Spend, SpendTotal
from campaigns.money import format_amount
from notifications.events import NewEvent, threshold_events
from notifications.thresholds import BudgetKind, BudgetSpend, threshold_crossings
from saas.db import compose, connection
from saas.errors import Conflict, InvalidInput

T = TypeVar("T")


@dataclass(frozen=True)
class SpendEvent:
    """One spend as the client sent it; `occurred_at` None means "now"."""

    campaign_id: int
    amount: Decimal
    occurred_at: datetime | None
    event_id: str | None

    @cached_property
    def fingerprint(self) -> str:
        """Same body, same fingerprint: what tells a retry from a different event.

        The amount and the instant are compared by value ("1.5" is "1.50", "13:00+01:00" is
        "12:00Z"), so a client re-serialising its retry is still recognised as retrying.
        """
        canonical = "|".join((
            str(self.campaign_id),
            format(self.amount.normalize(), "f"),
            self.occurred_at.astimezone(UTC).isoformat() if self.occurred_at else "",
        ))
        return hashlib.sha256(canonical.encode()).hexdigest()


class UnknownCampaign(InvalidInput):
    """A campaign id that is not one of this agency's campaigns."""

    def __init__(self) -> None:
        super().__init__({"campaign": ["Unknown campaign."]})


class EventConflict(Conflict):
    """The event_id was used before with a different body."""

    def __init__(self, event_id: str | None, index: int | None = None) -> None:
        if index is None:
            message = "This event_id was already used with a different body."
        else:
            message = (f"Event {index}: the event_id {event_id!r} was already used with a "
                       "different body; nothing of this batch was stored.")
        super().__init__(message)
        self.event_id = event_id
        self.index = index  # position in a batch


class InvalidBatch(InvalidInput):
    """Events that cannot be recorded, by index: nothing of the batch is stored."""

    def __init__(self, errors: dict[int, dict[str, list[str]]]) -> None:
        super().__init__({"events": {str(index): fields
                                     for index, fields in sorted(errors.items())}})
        self.errors = errors


@dataclass(frozen=True)
class Recorded:
    body: dict[str, Any]
    created: bool  # False: a retry, answered with the first response


@dataclass(frozen=True)
class BatchRecorded:
    created: int
    duplicates: int
    campaigns: list[dict[str, Any]]  # {"id", "status", "pause_reasons"} of each touched one


def format_instant(at: datetime) -> str:
    """In UTC, as stored: a first answer and its replay read alike whatever offset was sent."""
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def spend_body(spend_id: int, campaign_id: int, amount: str, occurred_at: str,
               event_id: str | None, campaign_status: dict[str, Any]) -> dict[str, Any]:
    """The answer to one spend, built the same way the first time and on every replay."""
    return {
        "id": spend_id, "campaign": campaign_id, "amount": amount, "occurred_at": occurred_at,
        "event_id": event_id,
        "campaign_status": {"status": campaign_status["status"],
                            "pause_reasons": campaign_status["pause_reasons"]},
    }


# The hot path's statements are prepared (`connection.prepared_cursor()`): planning them each time
# cost PostgreSQL more than running them. ORDER BY before FOR UPDATE: PostgreSQL locks rows in the
# order it returns them, so every writer takes its brands' locks in id order and two batches
# cannot deadlock. The campaigns are locked too, FOR KEY SHARE (what the spend's foreign key
# takes at commit anyway): a campaign deleted while the spend waited is then read again, and
# found gone, rather than taken from a snapshot older than the lock.
LOCK_SQL = compose("""
SELECT c.id, b.id, b.timezone, b.daily_budget, b.monthly_budget, b.alert_thresholds
FROM {campaign} c
JOIN {brand} b ON b.id = c.brand_id
WHERE c.id = ANY(%s::bigint[])
ORDER BY b.id
FOR UPDATE OF b FOR KEY SHARE OF c
""", campaign=Campaign, brand=Brand)
# The insert-and-upsert the ORM has no form for: the events go in unless their event_id is
# already there (the unique index on event_id decides between concurrent retries), and only
# the rows inserted are added to the day and month totals (ON CONFLICT on spend_total_key). The
# month of a spend is the month of its local day (clock.local_month), hence date_trunc. It also
# answers each total it touched with its amount after and the amount added (before = after -
# added, exact: the upsert adds atomically), for the threshold crossings, and each row inserted
# with the status it kept for its event_id's retries. {guard} is empty where the brands are
# already locked (a batch); for a single spend it is the join below.
_WRITE = """
inserted AS (
    INSERT INTO {spend} (campaign_id, amount, occurred_at, local_day, event_id,
                         request_hash, response, created_at)
    SELECT e.campaign, e.amount, e.occurred_at, e.local_day, e.event_id, e.request_hash,
           CASE WHEN e.remember THEN (  -- by the primary key: a join scanned every campaign
               SELECT jsonb_build_object('campaign_status', jsonb_build_object(
                   'status', c.status, 'pause_reasons', c.pause_reasons))
               FROM {campaign} c WHERE c.id = e.campaign
           ) END,
           now()
    FROM jsonb_to_recordset(%(events)s::jsonb) AS e(
        campaign bigint, amount numeric, occurred_at timestamptz, local_day date,
        event_id text, request_hash text, remember boolean)
    {guard}
    ON CONFLICT (event_id) DO NOTHING
    RETURNING id, campaign_id, amount, local_day, event_id, response
), added AS (
    SELECT campaign_id, {day} AS period, local_day AS period_start, sum(amount) AS amount
    FROM inserted GROUP BY 1, 3
    UNION ALL
    SELECT campaign_id, {month}, date_trunc('month', local_day)::date, sum(amount)
    FROM inserted GROUP BY 1, 3
), totals AS (
    INSERT INTO {total} AS t (campaign_id, period, period_start, amount)
    SELECT campaign_id, period, period_start, amount FROM added
    ON CONFLICT (campaign_id, period, period_start)
    DO UPDATE SET amount = t.amount + EXCLUDED.amount
    RETURNING t.campaign_id, t.period, t.period_start, t.amount
), written AS (
    SELECT id, event_id, response::text AS response,
           NULL::bigint AS campaign_id, NULL AS period, NULL::date AS period_start,
           NULL::numeric AS after, NULL::numeric AS added
    FROM inserted
    UNION ALL
    SELECT NULL, NULL, NULL, t.campaign_id, t.period, t.period_start, t.amount, a.amount
    FROM totals t JOIN added a USING (campaign_id, period, period_start)
)
"""
_WRITE_PARTS: dict[str, type[Model] | sql.Composable] = {
    "spend": Spend, "campaign": Campaign, "total": SpendTotal,
    "day": sql.Literal(Period.DAY.value), "month": sql.Literal(Period.MONTH.value)}
WRITE_SQL = compose("WITH" + _WRITE + "SELECT * FROM written", guard=sql.SQL(""),
                    **_WRITE_PARTS)
# A single spend's lock and write in one statement, one round trip fewer than LOCK_SQL then
# WRITE_SQL: the insert joins the brand row as locked, so it waits for the brand's lock, and it
# writes only if the brand's time zone is the one the event's local day was computed in (the
# zone the process last saw for the campaign, `_zone_guess`); else it writes nothing and the
# ledger writes with WRITE_SQL, under the lock now held. Every row carries the brand (one row
# with nothing written). Written under the lock, the event and its totals are exact; only the
# campaign status kept for retries is read from the statement's snapshot, which can predate the
# lock, so the ledger compares it with the decision's answer (`_record_spend`).
LOCK_WRITE_SQL = compose("""
WITH locked AS MATERIALIZED (
    SELECT c.id AS campaign_id, b.id AS brand_id, b.timezone, b.daily_budget,
           b.monthly_budget, b.alert_thresholds
    FROM {campaign} c
    JOIN {brand} b ON b.id = c.brand_id
    WHERE c.id = %(campaign)s
    FOR UPDATE OF b FOR KEY SHARE OF c  -- as LOCK_SQL
),""" + _WRITE + """
SELECT w.*, l.* FROM written w RIGHT JOIN locked l ON true
""", guard=sql.SQL("JOIN locked l ON l.timezone = %(zone)s"), brand=Brand, **_WRITE_PARTS)


@dataclass(frozen=True)
class TotalAdded:
    """A day or month total that a write added to: its amount after, and how much was added."""

    campaign_id: int
    period: str  # Period
    period_start: date
    after: Decimal
    added: Decimal


@dataclass(frozen=True)
class _Written:
    inserted: list[tuple[int, str | None]]  # (id, event_id) of each row inserted
    totals: list[TotalAdded]
    # {spend id: the campaign status kept with it for its event_id's retries}, where one was
    kept: dict[int, dict[str, Any]]


@dataclass(frozen=True)
class _Locked:
    zones: dict[int, selectors.BrandRow]  # {campaign id: its brand}, for those that exist
    thresholds: dict[int, list[int]]  # {brand id: its alert_thresholds}


@dataclass(frozen=True)
class _Row:
    """An event as it goes into the ledger."""

    event: SpendEvent
    occurred_at: datetime
    local_day: date
    request_hash: str


def _lock(campaign_ids: Sequence[int]) -> _Locked:
    """Lock the brands of the campaigns and read them: {campaign id: its brand} for those
    that exist in this agency, and each brand's alert thresholds."""
    with connection.prepared_cursor() as cursor:
        cursor.execute(LOCK_SQL, [sorted(set(campaign_ids))])
        return _locked(cursor.fetchall())


def _locked(rows: Iterable[Sequence[Any]]) -> _Locked:
    """From rows of (campaign id, brand id, time zone, daily, monthly, alert thresholds)."""
    return _Locked(
        zones={campaign: selectors.BrandRow(*brand) for campaign, *brand, _alerts in rows},
        thresholds={brand_id: list(alerts) for _, brand_id, *_brand, alerts in rows},
    )


def _brands(zones: dict[int, selectors.BrandRow]) -> list[selectors.BrandRow]:
    return sorted({brand.id: brand for brand in zones.values()}.values(), key=lambda b: b.id)


def _rows(events: Sequence[SpendEvent], zones: Mapping[int, str], now: datetime) -> list[_Row]:
    """The events with their local days, in the time zones given by campaign."""
    days: dict[tuple[str, datetime], date] = {}  # a batch mostly repeats its instants
    rows = []
    for event in events:
        occurred_at = event.occurred_at or now
        zone_name = zones[event.campaign_id]
        day = days.get((zone_name, occurred_at))
        if day is None:
            day = days[(zone_name, occurred_at)] = clock.local_day(
                occurred_at, selectors.zone(zone_name))
        request_hash = event.fingerprint if event.event_id else ""
        rows.append(_Row(event, occurred_at, day, request_hash))
    return rows


def _zone_names(locked: _Locked) -> dict[int, str]:
    return {campaign: brand.timezone for campaign, brand in locked.zones.items()}


def _write(rows: Sequence[_Row], *, remember: bool = False) -> _Written:
    """Insert the rows not yet in the ledger and add them to the totals (WRITE_SQL), their
    brands locked already."""
    with connection.prepared_cursor() as cursor:
        cursor.execute(WRITE_SQL, {"events": _document(rows, remember=remember)})
        return _written(cursor.fetchall())


def _document(rows: Sequence[_Row], *, remember: bool) -> str:
    """The rows as WRITE_SQL takes them: one JSON document (amounts as their exact decimal
    text), which costs a single C-speed `json.dumps` where six client-side arrays cost a Python
    call per value.

    `remember` keeps, with each event that has an event_id, its campaign's status as stored
    before the decision: the status its first answer gives unless the decision changes it.
    """
    return json.dumps([
        {"campaign": row.event.campaign_id, "amount": str(row.event.amount),
         # In UTC: PostgreSQL refuses offsets beyond 15:59:59 that Python accepts (+23:59).
         "occurred_at": row.occurred_at.astimezone(UTC).isoformat(),
         "local_day": row.local_day.isoformat(),
         "event_id": row.event.event_id, "request_hash": row.request_hash,
         "remember": remember and row.event.event_id is not None}
        for row in rows
    ])


def _written(results: Sequence[Sequence[Any]]) -> _Written:
    """From WRITE_SQL's rows: (id, event_id, kept status) of an event inserted, else a total
    added to (campaign, period, period_start, after, added)."""
    return _Written(
        inserted=[(spend_id, event_id) for spend_id, event_id, *_ in results
                  if spend_id is not None],
        totals=[TotalAdded(*total) for spend_id, _, _, *total in results if spend_id is None],
        kept={spend_id: json.loads(kept)["campaign_status"]
              for spend_id, _, kept, *_ in results if kept is not None},
    )


# The time zone of each campaign's brand as this process last saw it, by (schema, campaign):
# the zone a single spend's local day is first computed in (LOCK_WRITE_SQL). A guess the
# statement checks, so a stale one costs a second statement, never a wrong day.
_zones_seen: dict[tuple[str, int], str] = {}
ZONES_SEEN_MAX = 10_000  # then forgotten all at once: about 2 MB a worker at most


def _zone_guess(campaign_id: int) -> str:
    return _zones_seen.get((connection.schema_name, campaign_id), "UTC")


def _see_zone(campaign_id: int, zone_name: str) -> None:
    if len(_zones_seen) >= ZONES_SEEN_MAX:
        _zones_seen.clear()
    _zones_seen[(connection.schema_name, campaign_id)] = sys.intern(zone_name)


def _lock_and_write(event: SpendEvent, now: datetime) -> tuple[_Locked, _Row, _Written]:
    """Lock the event's brand and write the event: one statement when its brand's time zone
    is the one this process last saw, else a second one under the lock. UnknownCampaign when
    the campaign is not this agency's."""
    guess = _zone_guess(event.campaign_id)
    (row,) = _rows([event], {event.campaign_id: guess}, now)
    with connection.prepared_cursor() as cursor:
        cursor.execute(LOCK_WRITE_SQL, {"campaign": event.campaign_id, "zone": guess,
                                        "events": _document([row], remember=True)})
        results = cursor.fetchall()
    if not results:
        raise UnknownCampaign
    locked = _locked([results[0][8:]])
    zone_name = locked.zones[event.campaign_id].timezone
    if zone_name == guess:
        written = [r[:8] for r in results if r[0] is not None or r[3] is not None]
        return locked, row, _written(written)  # without the row of nothing written
    _see_zone(event.campaign_id, zone_name)
    (row,) = _rows([event], {event.campaign_id: zone_name}, now)
    return locked, row, _write([row], remember=True)


def _stored(event_ids: Sequence[str]) -> dict[str, list[Any]]:
    rows = Spend.objects.filter(event_id__in=event_ids).values_list(
        "event_id", "request_hash", "response", "id", "campaign_id", "amount", "occurred_at")
    return {str(event_id): rest for event_id, *rest in rows}


def record_spend(event: SpendEvent, *, now: datetime) -> Recorded:
    """Record one spend and decide its brand at `now`; retries of an event_id are answered
    with the first response and counted once."""
    return _replanned_once(lambda: _record_spend(event, now))


def _replanned_once(record: Callable[[], T]) -> T:
    """`record()`, once more if PostgreSQL refused a prepared statement that a migration made
    stale: the rollback made psycopg forget them all, and the second run prepares them again
    (`saas.postgresql_backend.PreparedCursor`)."""
    try:
        return record()
    except NotSupportedError:
        return record()


def _record_spend(event: SpendEvent, now: datetime) -> Recorded:
    with transaction.atomic():
        locked, row, written = _lock_and_write(event, now)
        if not written.inserted:
            return _replay(event)
        spend_id = written.inserted[0][0]
        decision = status.decide_brands(now, cause=Cause.SPEND, brands=_brands(locked.zones))
        stored = decision.stored[event.campaign_id]
        answered = {"status": stored.status, "pause_reasons": stored.pause_reasons}
        if spend_id in written.kept and written.kept[spend_id] != answered:
            # The write kept the status from before the decision, or from a snapshot older
            # than the lock: the answer is the status after the decision.
            _remember(spend_id, answered)
        status.publish(decision, *_threshold_events(written.totals, locked, decision, now))
        body = spend_body(spend_id, event.campaign_id, format_amount(event.amount),
                          format_instant(row.occurred_at), event.event_id, answered)
        return Recorded(body=body, created=True)


def _remember(spend_id: int, campaign_status: dict[str, Any]) -> None:
    """Keep the status the first answer of an event_id gave, so a retry gets it back."""
    Spend.objects.filter(pk=spend_id).update(response={"campaign_status": campaign_status})


def _statuses(campaign_ids: Sequence[int]) -> list[dict[str, Any]]:
    rows = Campaign.objects.filter(pk__in=set(campaign_ids)).order_by("id").values_list(
        "id", "status", "pause_reasons")
    return [{"id": campaign, "status": campaign_status, "pause_reasons": list(reasons)}
            for campaign, campaign_status, reasons in rows]


def _replay(event: SpendEvent) -> Recorded:
    stored = _stored([event.event_id or ""])[event.event_id or ""]
    request_hash, response, spend_id, campaign_id, amount, occurred_at = stored
    if request_hash != event.fingerprint:
        raise EventConflict(event.event_id)
    if response is None:  # first recorded in a batch, which answers no body per event
        return Recorded(_first_body(spend_id, campaign_id, amount, occurred_at, event.event_id),
                        created=False)
    kept = json.loads(response) if isinstance(response, str) else response
    body = spend_body(spend_id, campaign_id, format_amount(amount), format_instant(occurred_at),
                      event.event_id, kept["campaign_status"])
    return Recorded(body=body, created=False)


def _first_body(spend_id: int, campaign_id: int, amount: Decimal, occurred_at: datetime,
                event_id: str | None) -> dict[str, Any]:
    (campaign,) = _statuses([campaign_id])
    return spend_body(spend_id, campaign_id, format_amount(amount), format_instant(occurred_at),
                      event_id, {"status": campaign["status"],
                                 "pause_reasons": campaign["pause_reasons"]})


def record_batch(events: Sequence[SpendEvent], *, now: datetime) -> BatchRecorded:
    """Record a batch all or nothing and decide the touched brands once, at `now`.

    An event_id seen earlier in the batch or already in the ledger with the same body is a
    duplicate: counted, not stored again. With a different body it is refused: within the batch
    as an invalid event (InvalidBatch, the client's own batch contradicts itself), against the
    ledger as EventConflict naming the index, like the single endpoint's 409.
    """
    unique, duplicates = _without_repeats(events)
    return _replanned_once(lambda: _record_batch(events, unique, duplicates, now))


def _record_batch(events: Sequence[SpendEvent], unique: Sequence[SpendEvent], duplicates: int,
                  now: datetime) -> BatchRecorded:
    with transaction.atomic():
        locked = _lock([event.campaign_id for event in unique])
        unknown = {
            index: {"campaign": ["Unknown campaign."]}
            for index, event in enumerate(events) if event.campaign_id not in locked.zones
        }
        if unknown:
            raise InvalidBatch(unknown)
        rows = _rows(unique, _zone_names(locked), now)
        written = _write(rows)
        inserted = written.inserted
        if len(inserted) < len(rows):
            duplicates += _check_ledger_repeats(events, rows, inserted)
        touched = sorted({event.campaign_id for event in unique})
        if inserted:
            decision = status.decide_brands(now, cause=Cause.SPEND,
                                            brands=_brands(locked.zones))
            campaigns = [{"id": campaign_id, "status": decision.stored[campaign_id].status,
                          "pause_reasons": decision.stored[campaign_id].pause_reasons}
                         for campaign_id in touched]
            status.publish(decision, *_threshold_events(written.totals, locked, decision, now))
        else:
            campaigns = _statuses(touched)
    return BatchRecorded(created=len(inserted), duplicates=duplicates, campaigns=campaigns)


# --- Threshold crossings -------------------------------------------------------------------

BUDGET_OF_PERIOD: dict[str, BudgetKind] = {Period.DAY.value: "daily",
                                           Period.MONTH.value: "monthly"}
# The brand totals of periods that the decision's snapshot does not hold (a late spend for
# yesterday, an early one for tomorrow): the sum over the brand's campaigns of their totals of
# that period, through spend_total_key, for all such periods in one statement. Reached through
# the indexes from the brands asked for, as selectors.CAMPAIGNS_SQL is (`OFFSET 0`: no join
# scanning every campaign and total of the agency).
BRAND_TOTALS_SQL = compose("""
SELECT k.brand_id, k.period, k.period_start, sum(t.amount)
FROM jsonb_to_recordset(%s::jsonb) AS k(brand_id bigint, period text, period_start date)
CROSS JOIN LATERAL (SELECT id FROM {campaign} WHERE brand_id = k.brand_id OFFSET 0) c
CROSS JOIN LATERAL (
    SELECT amount FROM {total}
    WHERE campaign_id = c.id AND period = k.period AND period_start = k.period_start OFFSET 0
) t
GROUP BY 1, 2, 3
""", campaign=Campaign, total=SpendTotal)

_PeriodKey = tuple[int, str, date]  # (brand or campaign id, period, period_start)


def _threshold_events(totals: Sequence[TotalAdded], locked: _Locked, decision: status.Decision,
                      now: datetime) -> list[NewEvent]:
    """`budget.threshold_reached` of every daily and monthly budget, of the campaigns and of
    their brands, that the write took past one of the brand's alert thresholds, in the local
    day or month the spend counted to, and of the campaigns' lifetime budgets."""
    snapshot = decision.snapshot
    assert snapshot is not None  # decide_brands always keeps it
    brand_of = {campaign_id: brand.id for campaign_id, brand in locked.zones.items()}
    budgets: list[BudgetSpend] = []
    brand_added: dict[_PeriodKey, Decimal] = {}
    for total in totals:
        state = snapshot.campaigns[total.campaign_id]
        budgets.append(BudgetSpend(
            scope="campaign", id=total.campaign_id, budget=BUDGET_OF_PERIOD[total.period],
            period=total.period_start,
            limit=_cap(state.campaign_caps, total.period), spent_before=total.after - total.added,
            spent_after=total.after, thresholds=locked.thresholds[state.brand_id]))
        key = (brand_of[total.campaign_id], total.period, total.period_start)
        brand_added[key] = brand_added.get(key, Decimal(0)) + total.added
    budgets += _lifetime_budgets(totals, snapshot, locked)
    brand_caps = {brand.id: rules.Caps(brand.daily_budget, brand.monthly_budget)
                  for brand in locked.zones.values()}
    watched = {key: added for key, added in brand_added.items()
               if _cap(brand_caps[key[0]], key[1]) is not None and locked.thresholds[key[0]]}
    brand_after = _brand_totals(watched, snapshot)
    for (brand_id, period, period_start), added in watched.items():
        after = brand_after[(brand_id, period, period_start)]
        budgets.append(BudgetSpend(
            scope="brand", id=brand_id, budget=BUDGET_OF_PERIOD[period], period=period_start,
            limit=_cap(brand_caps[brand_id], period), spent_before=after - added,
            spent_after=after, thresholds=locked.thresholds[brand_id]))
    return threshold_events(threshold_crossings(budgets), at=now)


def _lifetime_budgets(totals: Sequence[TotalAdded], snapshot: selectors.Snapshot,
                      locked: _Locked) -> list[BudgetSpend]:
    """Each touched campaign's lifetime budget, spent as the decision's snapshot has it (in its
    flight, up to the snapshot's local day), before the write by what the write added to the
    days that count: those of the flight (all, without dates) up to that day."""
    added: dict[int, Decimal] = {}
    for total in totals:
        state = snapshot.campaigns[total.campaign_id]
        if state.lifetime.budget is None or total.period != Period.DAY:
            continue
        flight, today = state.lifetime.flight, snapshot.brand_days[state.brand_id][0]
        counts = total.period_start <= today and (
            flight is None or flight.start_date <= total.period_start <= flight.end_date)
        if counts:
            added[total.campaign_id] = added.get(total.campaign_id, Decimal(0)) + total.added
    budgets = []
    for campaign_id, amount in added.items():
        state = snapshot.campaigns[campaign_id]
        budgets.append(BudgetSpend(
            scope="campaign", id=campaign_id, budget="lifetime", period=None,
            limit=state.lifetime.budget, spent_before=state.lifetime.spent - amount,
            spent_after=state.lifetime.spent, thresholds=locked.thresholds[state.brand_id]))
    return budgets


def _cap(caps: rules.Caps, period: str) -> Decimal | None:
    return caps.daily if period == Period.DAY else caps.monthly


def _brand_totals(keys: Iterable[_PeriodKey], snapshot: selectors.Snapshot
                  ) -> dict[_PeriodKey, Decimal]:
    """Each brand's total of each period after the write: from the decision's snapshot (read
    after the write) for the brand's current day and month, else read, in one statement."""
    found: dict[_PeriodKey, Decimal] = {}
    missing = []
    for brand_id, period, period_start in keys:
        day, month = snapshot.brand_days[brand_id]
        spend = snapshot.brands[brand_id]
        if period == Period.DAY and period_start == day:
            found[(brand_id, period, period_start)] = spend.today
        elif period == Period.MONTH and period_start == month:
            found[(brand_id, period, period_start)] = spend.month
        else:
            missing.append({"brand_id": brand_id, "period": period,
                            "period_start": period_start.isoformat()})
    if missing:
        with connection.cursor() as cursor:
            cursor.execute(BRAND_TOTALS_SQL, [json.dumps(missing)])
            found.update({(brand_id, period, period_start): amount
                          for brand_id, period, period_start, amount in cursor.fetchall()})
    return found


# width_bucket finds, by binary search in the sorted day starts, the last day that starts at or
# before the instant: its local day. The ORM has no form for it.
REKEY_SQL = compose("""
UPDATE {spend} s
SET local_day = (%(days)s::date[])[width_bucket(s.occurred_at, %(starts)s::timestamptz[])]
FROM {campaign} c
WHERE c.id = s.campaign_id AND c.brand_id = %(brand)s
  AND s.local_day <> (%(days)s::date[])[width_bucket(s.occurred_at, %(starts)s::timestamptz[])]
""", spend=Spend, campaign=Campaign)
# The totals again from the ledger, grouped as WRITE_SQL keys them: local day, and its month.
REBUILD_TOTALS_SQL = compose("""
INSERT INTO {total} (campaign_id, period, period_start, amount)
SELECT s.campaign_id, {day}, s.local_day, sum(s.amount)
FROM {spend} s JOIN {campaign} c ON c.id = s.campaign_id
WHERE c.brand_id = %(brand)s GROUP BY 1, 3
UNION ALL
SELECT s.campaign_id, {month}, date_trunc('month', s.local_day)::date, sum(s.amount)
FROM {spend} s JOIN {campaign} c ON c.id = s.campaign_id
WHERE c.brand_id = %(brand)s GROUP BY 1, 3
""", total=SpendTotal, spend=Spend, campaign=Campaign,
    day=sql.Literal(Period.DAY.value), month=sql.Literal(Period.MONTH.value))


def rekey_brand(brand_id: int, zone_name: str) -> None:
    """After the brand's time zone changed: every ledger row of its campaigns gets the local day
    of its instant in the new zone, and the day and month totals are rebuilt from the ledger.

    The caller holds the brand's lock, so no spend of the brand is written meanwhile. Four
    statements however many events, and Python work by the number of dates with spend: an
    instant's local day is its UTC date or one either side (offsets stay within a day), `clock`
    gives those days' first instants, and PostgreSQL finds each event's day among them.
    """
    zone = selectors.zone(zone_name)
    brand_spend = Spend.objects.filter(campaign__brand_id=brand_id)
    utc_dates = (brand_spend.order_by().annotate(utc_date=TruncDate("occurred_at", tzinfo=UTC))
                 .values_list("utc_date", flat=True).distinct())
    days = sorted({day + timedelta(days=shift) for day in utc_dates for shift in (-1, 0, 1)})
    with connection.cursor() as cursor:
        if days:
            starts = [clock.day_start(day, zone) for day in days]
            cursor.execute(REKEY_SQL, {"days": days, "starts": starts, "brand": brand_id})
        SpendTotal.objects.filter(campaign__brand_id=brand_id).delete()
        cursor.execute(REBUILD_TOTALS_SQL, {"brand": brand_id})


def _without_repeats(events: Sequence[SpendEvent]) -> tuple[list[SpendEvent], int]:
    """The batch without the repeats of an event_id it already carries, and their number."""
    first: dict[str, tuple[int, str]] = {}
    unique: list[SpendEvent] = []
    errors: dict[int, dict[str, list[str]]] = {}
    for index, event in enumerate(events):
        if event.event_id is None:
            unique.append(event)
            continue
        fingerprint = event.fingerprint
        seen = first.setdefault(event.event_id, (index, fingerprint))
        if seen[0] == index:
            unique.append(event)
        elif seen[1] != fingerprint:
            errors[index] = {"event_id": [
                f"Repeats the event_id of event {seen[0]} with a different body."]}
    if errors:
        raise InvalidBatch(errors)
    return unique, len(events) - len(unique)


def _check_ledger_repeats(events: Sequence[SpendEvent], rows: Sequence[_Row],
                          inserted: Sequence[tuple[int, str | None]]) -> int:
    """The rows the insert skipped were already in the ledger: retries (counted) when their
    body is the same, else EventConflict naming the first such index in the batch."""
    written = {event_id for _, event_id in inserted}
    skipped = {row.event.event_id: row.request_hash for row in rows
               if row.event.event_id is not None and row.event.event_id not in written}
    stored = _stored(list(skipped))
    for event_id, request_hash in skipped.items():
        if stored[event_id][0] != request_hash:
            index = next(i for i, event in enumerate(events) if event.event_id == event_id)
            raise EventConflict(event_id, index)
    return len(skipped)

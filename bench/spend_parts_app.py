"""The service with its single-spend view cut down to a part of what it does, for
`bench/spend_parts.py`: which part of a spend's cost is where. `SPEND_PART` picks the part:

- `pipeline`: every middleware, the host and token lookup, the scope, the body parsed, a fixed
  answer rendered; no ledger.
- `write`: that, and the lock-and-write transaction (BEGIN, `ledger.LOCK_WRITE_SQL`, COMMIT).
- `read`: that, and the brand's campaigns read after it (`selectors.CAMPAIGNS_SQL`): a spend's
  statements without its decision.
- `merged`: `write` with the campaigns read inside the lock-and-write statement, as one
  statement, its rows turned into the snapshot's states as `read`'s are. A cost probe only,
  NOT correct: the read comes from the statement's snapshot, which can predate the brand lock
  it waited for, and it never holds this spend's own write (a statement's CTEs all read the
  snapshot from before it); a ledger built on it would need a version on the brand row that
  every brand writer bumps, and to add the write's totals to what it read.

`SPEND_PART` is required: this app answers 201 and stores nothing of the parts it leaves out.

    SPEND_PART=write gunicorn bench.spend_parts_app:application
"""

from __future__ import annotations

import importlib
import os
from datetime import datetime

# The service's own WSGI application, imported first: it sets Django up as gunicorn would.
application = importlib.import_module("saas.wsgi").application

from django.db import transaction  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.utils import timezone  # noqa: E402

from campaigns import clock, ledger, selectors  # noqa: E402
from campaigns.api import middleware, spend  # noqa: E402
from saas.api import json_response, read_json, require_json_answer  # noqa: E402
from saas.db import connection  # noqa: E402
from tenants import auth  # noqa: E402

PARTS = ("pipeline", "write", "read", "merged")
PART = os.environ.get("SPEND_PART", "")
if PART not in PARTS:
    raise SystemExit(f"SPEND_PART must be one of {', '.join(PARTS)}, not {PART!r}")

_READ_AFTER_LOCK = selectors.CAMPAIGNS_SQL.replace(
    "FROM jsonb_to_recordset(%s::jsonb) AS k(brand_id bigint, day date, month date)",
    "FROM (SELECT brand_id, %(day)s::date AS day, %(month)s::date AS month FROM locked) k")
_PADDING = ("NULL::bigint, NULL::bigint, NULL::numeric, NULL::numeric, NULL::boolean, "
            "NULL::boolean, NULL::text[], NULL::numeric, NULL::numeric, NULL::int[], "
            "NULL::timestamptz, NULL::date, NULL::date, NULL::numeric, NULL::text, "
            "NULL::numeric, NULL::numeric")
_LOCK_WRITE_PADDING = ("NULL::bigint, NULL::text, NULL::text, NULL::bigint, NULL::text, "
                       "NULL::date, NULL::numeric, NULL::numeric, NULL::bigint, NULL::bigint, "
                       "NULL::text, NULL::numeric, NULL::numeric, NULL::int[]")
MERGED_SQL = ledger.LOCK_WRITE_SQL.replace(
    "SELECT w.*, l.* FROM written w RIGHT JOIN locked l ON true",
    f", campaigns_read AS ({_READ_AFTER_LOCK})\n"
    f"SELECT w.*, l.*, {_PADDING} FROM written w RIGHT JOIN locked l ON true\n"
    f"UNION ALL SELECT {_LOCK_WRITE_PADDING}, r.* FROM campaigns_read r")
if _READ_AFTER_LOCK == selectors.CAMPAIGNS_SQL or MERGED_SQL == ledger.LOCK_WRITE_SQL:
    raise SystemExit("the ledger's or the selector's statement changed: update the probe")


def record_part(request: HttpRequest) -> HttpResponse:
    """The spend view's steps up to the part asked for, then a fixed answer."""
    require_json_answer(request)
    auth.require_scope(auth.authenticate(request), spend.SPEND_SCOPE)
    now = timezone.now()
    event = spend.parse_event(read_json(request, spend.SpendJSONParser()), now=now)
    if PART != "pipeline":
        with transaction.atomic():
            _ledger_part(event, now)
    return json_response({"campaign": event.campaign_id, "part": PART}, status=201)


def _ledger_part(event: ledger.SpendEvent, now: datetime) -> None:
    if PART == "merged":
        _merged(event, now)
        return
    locked, _row, _written = ledger._lock_and_write(event, now)
    if PART == "read":
        selectors.snapshot_of(now, ledger._brands(locked.zones))


def _merged(event: ledger.SpendEvent, now: datetime) -> None:
    guess = ledger._zone_guess(event.campaign_id)
    (row,) = ledger._rows([event], {event.campaign_id: guess}, now)
    zone = selectors.zone(guess)
    with connection.prepared_cursor() as cursor:
        cursor.execute(MERGED_SQL, {
            "campaign": event.campaign_id, "zone": guess,
            "events": ledger._document([row], remember=True),
            "day": clock.local_day(now, zone), "month": clock.local_month(now, zone)})
        rows = cursor.fetchall()
    if not rows:
        return
    if rows[0][10] != guess:  # the locked brand's zone: learnt as the ledger does
        ledger._see_zone(event.campaign_id, rows[0][10])
    # What `read` does with its rows: the brand, the write, the campaigns' states.
    locked = ledger._locked([rows[0][8:14]])
    ledger._written([r[:8] for r in rows if r[0] is not None or r[3] is not None])
    (brand,) = ledger._brands(locked.zones)
    states = {}
    for r in rows:
        if r[14] is not None:
            state = selectors._campaign_state(r[14:], brand)
            states[state.campaign_id] = state
    selectors._brand_spend(states, [brand])


middleware.record_spend = record_part  # the spend middleware looks it up at each request

"""When the dispatcher must next send an agency a pass: `PassDue` in the public schema.

Every campaign stores `next_change_at`, the first instant after its last decision at which its
evaluation can change without new spend (`pacing.next_change_at`: the next local midnight or
window edge), written with its status by `campaigns.status`. The agency's marker is the earliest
of them, kept so:

- A decision that moves some campaign's `next_change_at` earlier (or sets a first one: a new
  campaign, an edited schedule or zone) lowers the marker to the earliest it wrote, with LEAST,
  in one upsert, and bumps `version`. Decisions never raise it: two of them deciding different
  brands at once could not tell which of their minimums is the newer.
- A pass raises it to the earliest `next_change_at` of all the agency's campaigns (a campaign
  never decided counts as due at the pass's instant), and only if `version` is still the one it
  read before looking: a decision that lowered it meanwhile (committed or not) has bumped it, or
  holds the row's lock until it commits and then has, so the raise is skipped and the marker
  stays low. A decision whose campaigns' instants only moved later need not bump it: the raise
  then saw their older, earlier instants, which is too early at worst.

So the marker may be too early (a pass that finds nothing due), never too late. The dispatcher
reads the due agencies with one indexed query a minute; an agency with nothing due costs nothing.
"""

from __future__ import annotations

from datetime import datetime

from campaigns.models import Campaign
from campaigns.shared.models import PassDue
from saas.db import compose, connection, table
from tenants.models import Agency

DUE = table(PassDue, schema="public")
AGENCY = table(Agency, schema="public")

LOWER_SQL = compose("""
INSERT INTO {due} AS d (agency_id, due_at, version)
SELECT a.id, %(due_at)s, 1 FROM {agency} a WHERE a.schema_name = %(schema)s
ON CONFLICT (agency_id) DO UPDATE
SET due_at = LEAST(d.due_at, EXCLUDED.due_at), version = d.version + 1
""", due=DUE, agency=AGENCY)


def lower(due_at: datetime) -> None:
    """Lower this agency's marker to `due_at` (a campaign of it may change then): one upsert."""
    with connection.cursor() as cursor:
        cursor.execute(LOWER_SQL, {"due_at": due_at, "schema": connection.schema_name})


VERSION_SQL = compose("""
SELECT d.version FROM {due} d JOIN {agency} a ON a.id = d.agency_id
WHERE a.schema_name = %(schema)s
""", due=DUE, agency=AGENCY)


def marker_version() -> int:
    """The version of this agency's marker (0 without one), read before a pass looks."""
    with connection.cursor() as cursor:
        cursor.execute(VERSION_SQL, {"schema": connection.schema_name})
        row = cursor.fetchone()
    return 0 if row is None else int(row[0])


# Compare-and-set: written only if nothing lowered the marker since `version` was read. An
# agency without a marker gets one (version 0, as `marker_version` said). The earliest instant
# and whether any campaign was never decided are each one probe of the campaign_next_change_at
# index (LEAST skips a NULL): min(coalesce(...)) read every campaign of the agency at each pass.
RAISE_SQL = compose("""
INSERT INTO {due} AS d (agency_id, due_at, version)
SELECT a.id, LEAST(
    (SELECT min(c.next_change_at) FROM {campaign} c),
    CASE WHEN EXISTS (SELECT FROM {campaign} c WHERE c.next_change_at IS NULL)
         THEN %(at)s::timestamptz END), 0
FROM {agency} a WHERE a.schema_name = %(schema)s
ON CONFLICT (agency_id) DO UPDATE SET due_at = EXCLUDED.due_at WHERE d.version = %(version)s
""", due=DUE, agency=AGENCY, campaign=Campaign)


def raise_marker(at: datetime, version: int) -> bool:
    """Move the marker to the earliest `next_change_at` of this agency's campaigns (None
    without campaigns), unless a decision lowered it since `version` was read. True if it
    moved. Call it after the pass's decisions, in their transaction."""
    with connection.cursor() as cursor:
        cursor.execute(RAISE_SQL, {"at": at, "schema": connection.schema_name,
                                   "version": version})
        return cursor.rowcount == 1


MARK_SQL = compose("""
INSERT INTO {due} AS d (agency_id, due_at, version) VALUES (%(agency)s, %(at)s, 1)
ON CONFLICT (agency_id) DO UPDATE
SET due_at = LEAST(d.due_at, EXCLUDED.due_at), version = d.version + 1
""", due=DUE)


def mark_due(agency_id: int, at: datetime) -> None:
    """A pass for the agency on the minute after `at` (signup: its first pass sets the marker
    from its campaigns)."""
    with connection.cursor() as cursor:
        cursor.execute(MARK_SQL, {"agency": agency_id, "at": at})


def due_agencies(now: datetime) -> list[str]:
    """The schemas of the agencies with a campaign due at `now`: one query for all agencies."""
    return PassDue.due_schemas(now)

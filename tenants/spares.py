"""Spare agency schemas, cloned from the template ahead of signups: a signup renames one
(`ALTER SCHEMA ... RENAME`, instant) instead of cloning the template while the visitor waits,
which took seconds with many agencies present (`bench/scale.py`: median 2.3 s at 1,000).

`TENANT_SPARE_SCHEMAS` (default 3) are kept ready by `refill()`: after `migrate` and every minute
(the `tenants.refill_spares` beat entry); 0 turns spares off. They are named `_spare_<hex>`: no
slug can make that name (slugs start with a letter), nothing routes to them (no agency row, no
domain), and no job visits them. A spare that does not record exactly the template's migrations
is never taken: every refill drops the stale ones, and a signup checks the spare it takes against
the template's `django_migrations`. Without a ready spare, a signup clones as before.

Three locks keep that exact while signups, refills and `migrate` overlap: a clone of the template
holds TEMPLATE_LOCK shared and `migrate` holds it exclusively while it changes the template, so
no clone copies a migration half-applied; a signup renaming a spare and `drop_stale` dropping it
each hold that spare's own lock, so a stale spare is never dropped after a signup renamed it;
REFILL_LOCK lets one process refill at a time.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from django.conf import settings
from django.db import DatabaseError, transaction
from psycopg import sql

from saas.db import connection

PREFIX = "_spare_"
DEFAULT_COUNT = 3
REFILL_LOCK = 7_320_451  # pg_advisory_lock key: one refill at a time, over every process
# Held exclusively while `migrate` changes the template, shared by every clone of it (a spare,
# or a signup without one): a clone never copies a template half-way through a migration (its
# tables read before the migration commits, its django_migrations after).
TEMPLATE_LOCK = 7_320_452
# Per spare, `pg_advisory_xact_lock(hashtext(name))`: held by the signup renaming it until that
# signup ends, and by `drop_stale` while it drops it, so neither acts on what the other holds.
TRY_SPARE_SQL = "SELECT pg_try_advisory_xact_lock(hashtext(%s))"
# Sequences are not transactional: a signup that took this spare and then rolled back (a failed
# step, a test) leaves its rows gone but its ids used. Every sequence is set back to the
# template's, as a fresh clone has it, so the agency's ids start where a clone's would.
RESET_SEQUENCES_SQL = """
SELECT count(setval(format('%%I.%%I', %(schema)s::text, t.sequencename)::regclass,
                    coalesce(t.last_value, t.start_value), t.last_value IS NOT NULL))
FROM pg_sequences t WHERE t.schemaname = %(template)s
"""
SPARES_SQL = "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s ORDER BY nspname"
EXISTS_SQL = "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = %s)"
# The same migrations, by name, both ways (a count would take one rolled back and another
# applied for the same state).
SAME_MIGRATIONS_SQL = """
SELECT NOT EXISTS ((SELECT app, name FROM {spare}.django_migrations
                    EXCEPT SELECT app, name FROM {template}.django_migrations)
                   UNION ALL
                   (SELECT app, name FROM {template}.django_migrations
                    EXCEPT SELECT app, name FROM {spare}.django_migrations))
"""
PATTERN = PREFIX.replace("_", r"\_") + "%"


def count() -> int:
    return int(getattr(settings, "TENANT_SPARE_SCHEMAS", DEFAULT_COUNT))


def spares() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(SPARES_SQL, [PATTERN])
        return [name for (name,) in cursor.fetchall()]


def take(schema_name: str) -> bool:
    """Inside the signup's transaction: rename a ready spare to `schema_name`. False when none
    is ready (stale, or being taken by a concurrent signup): the caller clones."""
    if not count():
        return False
    try:
        with transaction.atomic(), connection.cursor() as cursor:  # a savepoint
            cursor.execute("SELECT pg_try_advisory_xact_lock_shared(%s)", [TEMPLATE_LOCK])
            if not cursor.fetchone()[0]:
                return False  # the template is migrating: the spares may be about to be stale
            for name in spares():
                cursor.execute(TRY_SPARE_SQL, [name])
                if cursor.fetchone()[0] and _current(cursor, name):
                    cursor.execute(sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(
                        sql.Identifier(name), sql.Identifier(schema_name)))
                    cursor.execute(RESET_SEQUENCES_SQL, {
                        "schema": schema_name, "template": settings.TENANT_BASE_SCHEMA})
                    return True
    except DatabaseError:  # renamed by a signup that committed after we read the catalog
        pass
    return False


def share_template(cursor: Any) -> None:
    """Inside a transaction about to clone the template: wait for a migration of it to end."""
    cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [TEMPLATE_LOCK])


@contextmanager
def template_migrating() -> Iterator[None]:
    """Around `migrate` of the template: no clone starts until it is done. The lock is held on
    a connection of its own, which `migrate` closing its connections does not release."""
    params = connection.get_connection_params()
    with psycopg.connect(**params, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", [TEMPLATE_LOCK])
        try:
            yield
        finally:  # now: a closed connection's backend releases its locks only as it exits
            with contextlib.suppress(psycopg.Error):  # gone already: its locks went with it
                holder.execute("SELECT pg_advisory_unlock(%s)", [TEMPLATE_LOCK])


def _current(cursor: Any, spare: str) -> bool:
    """The spare records exactly the migrations the template records."""
    cursor.execute(sql.SQL(SAME_MIGRATIONS_SQL).format(
        spare=sql.Identifier(spare), template=sql.Identifier(settings.TENANT_BASE_SCHEMA)))
    return bool(cursor.fetchone()[0])


def refill() -> int:
    """Clone spares from the template until `count()` current ones are ready (stale ones
    dropped first); how many were made. Each in its own transaction, so a signup can take the
    first while the next is cloned."""
    from tenants.models import Agency

    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [REFILL_LOCK])
        if not cursor.fetchone()[0]:
            return 0  # another process is refilling
    try:
        drop_stale()
        made = 0
        while _ready() < count():  # stale ones (a template migrated meanwhile) do not count
            name = f"{PREFIX}{uuid.uuid4().hex[:12]}"
            with transaction.atomic(), connection.cursor() as cursor:
                # Not forever: were a migration of the template ever to wait on this worker,
                # PostgreSQL would not see the cycle (the lock is held on another connection).
                cursor.execute("SET LOCAL lock_timeout = '60s'")
                share_template(cursor)
                cursor.execute("SELECT public.clone_schema(%s, %s, %s)",
                               [settings.TENANT_BASE_SCHEMA, name, Agency.clone_mode])
                if cursor.fetchone()[0] != 0:
                    raise DatabaseError(f"Cloning the template into {name!r} failed.")
            made += 1
        return made
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [REFILL_LOCK])


def _ready() -> int:
    """How many spares record exactly the template's migrations."""
    return sum(_is_current(name) is True for name in spares())


def _is_current(name: str) -> bool | None:
    """Whether a listed spare is current; None once a signup has renamed it since."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:  # a savepoint
            return _current(cursor, name)
    except DatabaseError:
        return None


def drop_stale() -> int:
    """Drop the spares the template's migrations left behind; how many. A stale spare is
    dropped only under its own lock, and checked again once the lock is ours: a signup that is
    renaming it holds that lock to its end (then it is skipped, and its name is gone)."""
    return sum(_drop_locked(name) for name in spares() if _is_current(name) is False)


def _drop_locked(name: str) -> int:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(TRY_SPARE_SQL, [name])
        if not cursor.fetchone()[0]:
            return 0  # a signup holds it
        cursor.execute(EXISTS_SQL, [name])  # and none can rename it now
        if cursor.fetchone()[0] and not _current(cursor, name):
            cursor.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))
            return 1
    return 0

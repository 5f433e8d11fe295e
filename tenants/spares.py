"""Spare agency schemas, cloned from the template ahead of signups: a signup renames one
(`ALTER SCHEMA ... RENAME`, instant) instead of cloning the template while the visitor waits,
which took seconds with many agencies present (`bench/scale.py`: median 2.3 s at 1,000).

`TENANT_SPARE_SCHEMAS` (default 3) are kept ready by `refill()`: after `migrate` and every minute
(the `tenants.refill_spares` beat entry); 0 turns spares off. They are named `_spare_<hex>`: no
slug can make that name (slugs start with a letter), nothing routes to them (no agency row, no
domain), and no job visits them. A spare that is not exactly the template's migration state is
never taken: each `migrate` drops the stale ones, and a signup checks the spare it takes against
the template's `django_migrations`. Without a ready spare, a signup clones as before.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import DatabaseError, transaction
from psycopg import sql

from saas.db import connection

PREFIX = "_spare_"
DEFAULT_COUNT = 3
REFILL_LOCK = 7_320_451  # pg_advisory_lock key: one refill at a time, over every process
# A ready spare no other signup is taking: the advisory lock is held to the end of the
# transaction, so two signups never rename the same one.
TAKE_SQL = """
SELECT nspname FROM pg_namespace
WHERE nspname LIKE %s AND pg_try_advisory_xact_lock(hashtext(nspname))
ORDER BY nspname LIMIT 1
"""
# Sequences are not transactional: a signup that took this spare and then rolled back (a failed
# step, a test) leaves its rows gone but its ids used. Every sequence is set back to the
# template's, as a fresh clone has it, so the agency's ids start where a clone's would.
RESET_SEQUENCES_SQL = """
SELECT count(setval(format('%%I.%%I', %(schema)s::text, t.sequencename)::regclass,
                    coalesce(t.last_value, t.start_value), t.last_value IS NOT NULL))
FROM pg_sequences t WHERE t.schemaname = %(template)s
"""
SPARES_SQL = "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s ORDER BY nspname"
PATTERN = PREFIX.replace("_", r"\_") + "%"


def count() -> int:
    return int(getattr(settings, "TENANT_SPARE_SCHEMAS", DEFAULT_COUNT))


def spares() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(SPARES_SQL, [PATTERN])
        return [name for (name,) in cursor.fetchall()]


def take(schema_name: str) -> bool:
    """Inside the signup's transaction: rename a ready spare to `schema_name`. False when none
    is ready (or it is stale, or a concurrent signup just took it): the caller clones."""
    if not count():
        return False
    try:
        with transaction.atomic(), connection.cursor() as cursor:  # a savepoint
            cursor.execute(TAKE_SQL, [PATTERN])
            row = cursor.fetchone()
            if row is None or not _current(cursor, row[0]):
                return False
            cursor.execute(sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(
                sql.Identifier(row[0]), sql.Identifier(schema_name)))
            cursor.execute(RESET_SEQUENCES_SQL, {"schema": schema_name,
                                                 "template": settings.TENANT_BASE_SCHEMA})
    except DatabaseError:  # renamed by a signup that committed after we read the catalog
        return False
    return True


def _current(cursor: object, spare: str) -> bool:
    """The spare has every migration the template has (and no other)."""
    query = sql.SQL("SELECT (SELECT count(*) FROM {}.django_migrations) = "
                    "(SELECT count(*) FROM {}.django_migrations)").format(
        sql.Identifier(spare), sql.Identifier(settings.TENANT_BASE_SCHEMA))
    cursor.execute(query)  # type: ignore[attr-defined]
    return bool(cursor.fetchone()[0])  # type: ignore[attr-defined]


def refill() -> int:
    """Clone spares from the template until `count()` are ready; how many were made. Each in its
    own transaction, so a signup can take the first while the next is cloned."""
    from tenants.models import Agency

    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [REFILL_LOCK])
        if not cursor.fetchone()[0]:
            return 0  # another process is refilling
    try:
        made = 0
        while len(spares()) < count():
            name = f"{PREFIX}{uuid.uuid4().hex[:12]}"
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT public.clone_schema(%s, %s, %s)",
                               [settings.TENANT_BASE_SCHEMA, name, Agency.clone_mode])
                if cursor.fetchone()[0] != 0:
                    raise DatabaseError(f"Cloning the template into {name!r} failed.")
            made += 1
        return made
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [REFILL_LOCK])


def drop_stale() -> None:
    """After `migrate`: drop the spares the template's new migrations left behind."""
    with connection.cursor() as cursor:
        for name in spares():
            if not _current(cursor, name):
                cursor.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))

"""Spare schemas cloned ahead of signups (tenants.spares): a signup renames one, never a stale
or a taken one, and falls back to cloning without one."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import DatabaseError, connections, transaction
from django_celery_beat.models import PeriodicTask
from django_tenants.utils import schema_context, schema_exists
from psycopg import sql

from campaigns.models import Brand
from saas.db import connection
from tenants import services, spares
from tenants.signals import SPARES_ENTRY

pytestmark = pytest.mark.django_db
GOOD = {"name": "Acme Media", "slug": "acme", "email": "owner@acme.test",
        "password": "correct-Horse-9-battery"}


def test_the_refill_keeps_the_spares_ready_and_runs_every_minute() -> None:
    """(That migrate leaves them ready: tests/saas/test_migrate.py, on an empty database.)"""
    spares.refill()
    assert len(spares.spares()) == spares.count() == 3
    assert spares.refill() == 0
    entry = PeriodicTask.objects.get(name=SPARES_ENTRY)
    assert (entry.task, entry.crontab.minute) == ("tenants.refill_spares", "*")


def test_a_signup_renames_a_spare_and_its_schema_works() -> None:
    spares.refill()
    before = spares.spares()
    created = services.create_agency(**GOOD)
    after = spares.spares()
    assert len(after) == len(before) - 1 and set(after) < set(before)
    assert schema_exists(created.agency.schema_name)
    with schema_context(created.agency.schema_name):
        Brand.objects.create(name="B", timezone="UTC")
        assert Brand.objects.count() == 1
    assert spares.refill() == 1
    assert len(spares.spares()) == 3


def test_a_stale_spare_is_not_taken_and_migrate_drops_it(settings: Any) -> None:
    settings.TENANT_SPARE_SCHEMAS = 1
    spares.drop_stale()
    spares.refill()
    (spare, *others) = spares.spares()
    for other in others:
        drop(other)
    with connection.cursor() as cursor:  # as if a migration came after the spare was cloned
        cursor.execute(sql.SQL("DELETE FROM {}.django_migrations WHERE id = "
                               "(SELECT max(id) FROM {}.django_migrations)").format(
            sql.Identifier(spare), sql.Identifier(spare)))
    created = services.create_agency(**GOOD)  # cloned instead
    assert spares.spares() == [spare]
    assert schema_exists(created.agency.schema_name)
    spares.drop_stale()
    assert spares.spares() == []


def test_without_spares_a_signup_clones(settings: Any) -> None:
    for spare in spares.spares():
        drop(spare)
    created = services.create_agency(**GOOD)
    assert schema_exists(created.agency.schema_name)


def test_a_spare_taken_by_another_signup_is_skipped() -> None:
    """The advisory lock a signup holds on its spare until it commits keeps others off it."""
    spares.refill()
    first, second, *_ = spares.spares()
    elsewhere = hold_lock_elsewhere(first)
    try:
        assert spares.take("acme")
        assert schema_exists("acme")
        assert schema_exists(first) and not schema_exists(second)
    finally:
        elsewhere.close()


def hold_lock_elsewhere(spare: str) -> Any:
    from django.db import connections

    default = connections["default"]
    other = type(default)(dict(default.settings_dict))
    with other.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(hashtext(%s))", [spare])
    return other


def drop(schema: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def test_a_spare_a_rolled_back_signup_used_starts_its_ids_afresh() -> None:
    """Sequences are not rolled back: the next signup to take the spare still numbers from the
    template's values, like a fresh clone."""
    spares.refill()
    with pytest.raises(RuntimeError), transaction.atomic():
        first = services.create_agency(**GOOD)
        with schema_context(first.agency.schema_name):
            for _ in range(3):
                Brand.objects.create(name="B", timezone="UTC")
        raise RuntimeError("the signup fails after its schema was used")
    ids = []
    for n in range(len(spares.spares())):
        created = services.create_agency(**{**GOOD, "slug": f"acme{n}",
                                            "email": f"owner{n}@acme.test"})
        with schema_context(created.agency.schema_name):
            ids.append(Brand.objects.create(name="B", timezone="UTC").pk)
    assert ids == [ids[0]] * len(ids)


def make_stale(spare: str, how: str = "DELETE FROM {}.django_migrations") -> None:
    """As if the template got a migration after the spare was cloned: its last record goes."""
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL(how + " WHERE id = (SELECT max(id) FROM {}.django_migrations)")
                       .format(sql.Identifier(spare), sql.Identifier(spare)))


def test_a_spare_recording_other_migrations_of_the_same_number_is_stale(settings: Any) -> None:
    settings.TENANT_SPARE_SCHEMAS = 1
    spares.refill()
    (spare, *others) = spares.spares()
    for other in others:
        drop(other)
    make_stale(spare, "UPDATE {}.django_migrations SET name = name || '_elsewhere'")
    created = services.create_agency(**GOOD)  # cloned instead
    assert spares.spares() == [spare]
    assert schema_exists(created.agency.schema_name)
    assert spares.drop_stale() == 1


def test_no_clone_starts_while_migrate_changes_the_template(settings: Any) -> None:
    settings.TENANT_SPARE_SCHEMAS = 0
    with spares.template_migrating():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '200ms'")
        with pytest.raises(DatabaseError, match="lock timeout"):
            services.create_agency(**GOOD)
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout TO DEFAULT")
    created = services.create_agency(**GOOD)
    assert schema_exists(created.agency.schema_name)


@pytest.fixture
def committed_spares(django_db_blocker: Any) -> Iterator[None]:
    """Spares that really commit, seen from other connections; ready again afterwards."""
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        yield
        connection.set_schema_to_public()
        if schema_exists(TAKEN):
            drop(TAKEN)
        spares.refill()


TAKEN = "race_taken_spare"


@pytest.mark.django_db(False)
def test_a_stale_spare_a_signup_is_renaming_is_not_dropped(committed_spares: None) -> None:
    spares.refill()
    spare = spares.spares()[0]
    make_stale(spare)
    signup = other_connection()  # renames it, and has not committed yet
    with signup.cursor() as cursor:
        cursor.execute("BEGIN")
        cursor.execute(spares.TRY_SPARE_SQL, [spare])
        assert cursor.fetchone()[0]
        cursor.execute(sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(
            sql.Identifier(spare), sql.Identifier(TAKEN)))
    assert spares.drop_stale() == 0  # it is the signup's
    with signup.cursor() as cursor:
        cursor.execute("COMMIT")
    signup.close()
    assert schema_exists(TAKEN)  # the agency's schema survived
    assert spare not in spares.spares()
    assert spares.drop_stale() == 0


def other_connection() -> Any:
    default = connections["default"]
    return type(default)(dict(default.settings_dict))


def test_no_spare_is_taken_while_migrate_changes_the_template() -> None:
    """Before the template's migration commits, its spares still look current: a signup then
    clones instead (and so waits for the migration), never renames a spare about to be stale.
    (No refill here: its clone's shared lock would last as long as the test's transaction.)"""
    assert spares.spares()  # migrate's, committed
    with spares.template_migrating():
        assert not spares.take("acme")
    assert spares.take("acme")


def test_a_spare_renamed_after_it_was_listed_is_skipped(monkeypatch: Any) -> None:
    """A signup that renamed and committed it between the listing and the check."""
    monkeypatch.setattr(spares, "spares", lambda: ["_spare_gone_already"])
    assert spares.drop_stale() == 0

"""`migrate` across many agencies: the plan is made once, then applied to every schema.

django-tenants' executors run Django's whole `migrate` command once per schema: the system
checks, the migration graph, the project state rendered from every migration, six listings of
every table in the catalog (which grows with the agencies) and a new connection. With 1,000
agencies one new migration took 511-560 s on two processes (bench/scale.py). This executor
groups the agencies by the migrations their schemas record and, per group, does that work once;
each schema then costs its own DDL, its migration records and its post_migrate signal (content
types and permissions), on connections reused from schema to schema, in
`TENANT_MULTIPROCESSING_MAX_PROCESSES` processes forked after the plan is made.

It is `migrate`'s default here (settings.GET_EXECUTOR_FUNCTION); `--executor=standard` or
`multiprocessing` picks django-tenants' own. The public schema, a schema without
`django_migrations` yet, and any run with a target or a mode (an app label, a migration name,
--fake, --fake-initial, --plan, --check, --prune, --run-syncdb) take django-tenants' standard
path, so they behave as Django's `migrate` does. A schema with nothing to apply gets no
post_migrate signal (Django's `migrate` sends one every run), unless its content types or
permissions differ in number from the template's (a run stopped between a migration and its
signal): then it gets one.

This module is the one adapter around the migration internals it relies on: Django's
`MigrationExecutor._create_project_state` and its re-rendering of the final state for
post_migrate, django-tenants' `run_migrations` and signals. tests/saas/test_migrate.py runs it
on real schemas, and fails if they change under it.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
import traceback
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps as global_apps
from django.conf import settings
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management.base import CommandError
from django.core.management.sql import emit_post_migrate_signal, emit_pre_migrate_signal
from django.db import connections
from django.db.migrations.executor import MigrationExecutor as DjangoExecutor
from django.db.migrations.recorder import MigrationRecorder
from django.db.migrations.state import ModelState, ProjectState, StateApps
from django_tenants.migration_executors import get_executor as tenants_executor
from django_tenants.migration_executors.base import MigrationExecutor, run_migrations
from django_tenants.signals import schema_migrated, schema_pre_migration

from saas.db import compose, table

CODENAME = "batch"
# Options that make `migrate` do something other than "apply what is missing, everywhere".
MODES = ("app_label", "migration_name", "fake", "fake_initial", "plan", "check_unapplied",
         "prune", "run_syncdb")
MIGRATIONS = MigrationRecorder.Migration


def get_executor(codename: str | None = None) -> type[MigrationExecutor]:
    """settings.GET_EXECUTOR_FUNCTION: this executor unless `--executor` or EXECUTOR names
    another of django-tenants'."""
    codename = codename or os.environ.get("EXECUTOR") or CODENAME
    return BatchExecutor if codename == CODENAME else tenants_executor(codename)


class BatchExecutor(MigrationExecutor):
    codename = CODENAME

    def run_migrations(self, tenants: Iterable[str] | None = None) -> None:
        schemas = list(tenants or [])
        if any(self.options.get(mode) for mode in MODES):
            tenants_executor("standard")(self.args, self.options).run_migrations(schemas)
            return
        if self.PUBLIC_SCHEMA_NAME in schemas:
            schemas.remove(self.PUBLIC_SCHEMA_NAME)
            self.run_standard(self.PUBLIC_SCHEMA_NAME)
        groups, unprepared = group_by_applied(self.database, schemas)
        for schema in unprepared:
            self.run_standard(schema)
        for members in groups:
            Group(self.database, self.options, members).run()

    def run_multi_type_migrations(self, tenants: Any) -> None:
        tenants_executor("standard")(self.args, self.options).run_multi_type_migrations(tenants)

    @property
    def database(self) -> str:
        return str(self.options.get("database") or self.TENANT_DB_ALIAS)

    def run_standard(self, schema: str) -> None:
        run_migrations(self.args, self.options, "standard", schema)


def group_by_applied(database: str, schemas: Sequence[str]) -> tuple[list[list[str]], list[str]]:
    """The schemas grouped by the migrations they record (in the order given), and those with
    no migrations table yet."""
    connection: Any = connections[database]
    connection.set_schema_to_public()
    groups: dict[frozenset[tuple[str, str]], list[str]] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relname = %s AND c.relkind = 'r' AND n.nspname = ANY(%s)",
            [MIGRATIONS._meta.db_table, list(schemas)])
        prepared = {row[0] for row in cursor.fetchall()}
        for schema in schemas:
            if schema in prepared:
                cursor.execute(compose("SELECT app, name FROM {migrations}",
                                       migrations=table(MIGRATIONS, schema=schema)))
                groups.setdefault(frozenset(cursor.fetchall()), []).append(schema)
    return list(groups.values()), [schema for schema in schemas if schema not in prepared]


@dataclass
class Group:
    """Schemas that record the same migrations, so one plan and one state serve them all."""

    database: str
    options: dict[str, Any]
    schemas: list[str]
    executor: DjangoExecutor = field(init=False)
    plan: list[Any] = field(init=False)
    state: ProjectState = field(init=False)
    final_apps: StateApps | None = field(init=False, default=None)

    def run(self) -> None:
        if not self.prepare():
            drifted = self.drifted()
            self.say(f"{len(self.schemas)} schema(s) up to date: no migrations to apply"
                     + (f"; content types and permissions restored in {len(drifted)}"
                        if drifted else "") + ".")
            self.restore(drifted)
            return
        names = ", ".join(str(migration) for migration, _ in self.plan)
        self.say(f"Applying to {len(self.schemas)} schema(s): {names}")
        first, rest = self.schemas[0], self.schemas[1:]
        self.report(1, first, self.migrate_or_stop(first))
        for done, (schema, seconds) in enumerate(self.migrate_all(rest), 2):
            self.report(done, schema, seconds)

    def prepare(self) -> bool:
        """The plan for these schemas, checked as `migrate` checks it, and its starting state,
        rendered once."""
        connection: Any = connections[self.database]  # django-tenants' wrapper
        connection.set_schema(self.schemas[0])
        self.executor = DjangoExecutor(connection)
        self.executor.loader.check_consistent_history(connection)
        conflicts = self.executor.loader.detect_conflicts()
        if conflicts:
            raise CommandError(f"Conflicting migrations detected: {conflicts}; run "
                               "'python manage.py makemigrations --merge'")
        self.plan = self.executor.migration_plan(self.executor.loader.graph.leaf_nodes())
        if not self.plan:
            return False
        self.state = self.executor._create_project_state(  # type: ignore[attr-defined]
            with_applied_migrations=True)
        emit_pre_migrate_signal(self.verbosity, False, self.database, stdout=sys.stdout,
                                apps=self.state.apps, plan=self.plan)
        return True

    def drifted(self) -> list[str]:
        """The schemas whose content types or permissions are not the template's in number: a
        run stopped between a migration and its post_migrate signal (which Django's `migrate`
        sends again on every run, and this executor only where it applies something)."""
        template = settings.TENANT_BASE_SCHEMA
        if self.schemas == [template]:
            return [template]  # every new agency is a copy of it: always as Django would
        connection: Any = connections[self.database]
        with connection.cursor() as cursor:
            wanted = _catalog_counts(cursor, template)
            if wanted is None:
                return []
            return [schema for schema in self.schemas
                    if _catalog_counts(cursor, schema) not in (wanted, None)]

    def restore(self, schemas: list[str]) -> None:
        if not schemas:
            return
        final_apps = rerendered(self.executor._create_project_state(  # type: ignore[attr-defined]
            with_applied_migrations=True))
        connection: Any = connections[self.database]
        for schema in schemas:
            connection.set_schema(schema)
            emit_post_migrate_signal(self.verbosity, False, self.database, stdout=sys.stdout,
                                     apps=final_apps, plan=[])
            self.say(f"[{CODENAME}:{schema}] content types and permissions restored")
        connection.set_schema_to_public()

    def migrate(self, schema: str) -> float:
        """Apply the plan to one schema, as `migrate` would, and send its signals."""
        started = time.perf_counter()
        schema_pre_migration.send(run_migrations, schema_name=schema)
        connection: Any = connections[self.database]
        connection.set_schema(schema)
        forget_content_types(self.state.apps, self.final_apps)  # the last schema's ids
        targets = self.executor.loader.graph.leaf_nodes()
        final = self.executor.migrate(targets, plan=self.plan, state=self.state.clone())
        if self.final_apps is None:
            self.final_apps = rerendered(final)
        emit_post_migrate_signal(self.verbosity, False, self.database, stdout=sys.stdout,
                                 apps=self.final_apps, plan=self.plan)
        connection.set_schema_to_public()
        schema_migrated.send(run_migrations, schema_name=schema)
        return time.perf_counter() - started

    def migrate_or_stop(self, schema: str) -> float:
        try:
            return self.migrate(schema)
        except Exception as error:
            raise CommandError(f"migrating schema {schema} failed: {error}") from error

    def migrate_all(self, schemas: list[str]) -> Iterable[tuple[str, float]]:
        """Each schema in a forked process (the plan and state inherited), as they finish. On a
        failure or an interrupt the schemas still queued are skipped and the running ones (and
        the few already handed to a process) finish, then the run stops: a process stopped
        half-way through a migration could leave it half-applied. A process that dies is the
        exception: the pool then stops the others itself (atomic migrations roll back)."""
        processes = int(getattr(settings, "TENANT_MULTIPROCESSING_MAX_PROCESSES", 2))
        forking = "fork" in multiprocessing.get_all_start_methods()
        if processes < 2 or len(schemas) < 2 or not forking:
            yield from ((schema, self.migrate_or_stop(schema)) for schema in schemas)
            return
        global _running
        _running = self
        connections.close_all()  # the children open their own
        failed: list[tuple[str, str]] = []
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(min(processes, len(schemas)), mp_context=context) as pool:
            pending = {pool.submit(_migrate_in_child, schema): schema for schema in schemas}
            try:
                for future in as_completed(pending):
                    seconds, error = _outcome(future)
                    if error is None:
                        yield pending[future], seconds
                    elif error != SKIPPED:
                        failed.append((pending[future], error))
                        _cancel(pending)
            except BaseException:  # Ctrl-C, a broken pipe: start nothing more, then stop
                _cancel(pending)
                raise
        if failed:
            skipped = sum(future.cancelled() for future in pending)
            names = ", ".join(schema for schema, _ in failed[:5]) + (
                f" and {len(failed) - 5} more" if len(failed) > 5 else "")
            raise CommandError(f"migrating schema {names} failed ({skipped} not started; run "
                               f"migrate again once fixed):\n{failed[0][1]}")

    def report(self, done: int, schema: str, seconds: float) -> None:
        count = len(self.schemas)
        self.say(f"[{done}/{count} ({100 * done // count}%) {CODENAME}:{schema}] "
                 f"{len(self.plan)} applied in {seconds * 1000:.0f} ms")

    def say(self, message: str) -> None:
        if self.verbosity >= 1:
            print(message, flush=True)

    @property
    def verbosity(self) -> int:
        return int(self.options.get("verbosity", 1))


_running: Group | None = None  # the group a forked child works for


SKIPPED = "skipped"
EXISTS_SQL = "SELECT to_regclass(%s) IS NOT NULL AND to_regclass(%s) IS NOT NULL"
COUNTS_SQL = "SELECT (SELECT count(*) FROM {types}), (SELECT count(*) FROM {permissions})"


def _catalog_counts(cursor: Any, schema: str) -> tuple[int, int] | None:
    """How many content types and permissions a schema has (None: it has no such tables)."""
    types, permissions = (table(model, schema=schema) for model in (ContentType, Permission))
    cursor.execute(EXISTS_SQL, [types.as_string(None), permissions.as_string(None)])
    if not cursor.fetchone()[0]:
        return None
    cursor.execute(compose(COUNTS_SQL, types=types, permissions=permissions))
    found = cursor.fetchone()
    return int(found[0]), int(found[1])


def _migrate_in_child(schema: str) -> tuple[float, str | None]:
    assert _running is not None
    try:
        return _running.migrate(schema), None
    except (Exception, SystemExit):  # a RunPython's sys.exit too; Ctrl-C stops the child
        return 0.0, traceback.format_exc()


def _cancel(futures: Iterable[Future[Any]]) -> None:
    """Those not handed to a process yet. (Not `shutdown(cancel_futures=True)`: the futures it
    cancels are never reported to `as_completed`, which then waits for ever.)"""
    for future in futures:
        future.cancel()


def _outcome(future: Future[tuple[float, str | None]]) -> tuple[float, str | None]:
    """What a child answered, or why it could not (it died: a kill, out of memory)."""
    if future.cancelled():
        return 0.0, SKIPPED
    try:
        return future.result()
    except BrokenProcessPool as error:
        return 0.0, f"its migrating process ended without an answer: {error}"


def forget_content_types(*states: StateApps | None) -> None:
    """The historical ContentType classes are shared by every clone of a state, and so is their
    manager's cache (by database alias, not schema): a RunPython's `get_for_model` in one schema
    would get the previous schema's ids."""
    for apps in states:
        try:
            model = apps.get_model("contenttypes", "ContentType") if apps else None
        except LookupError:
            model = None
        if model is not None:
            model.objects.clear_cache()


def rerendered(state: ProjectState) -> StateApps:
    """The final state's apps for post_migrate, real apps' models re-rendered with their
    relations, as Django's `migrate` command does it."""
    state.clear_delayed_apps_cache()
    final_apps = state.apps
    with final_apps.bulk_update():
        keys = []
        for model_state in final_apps.real_models:
            key = model_state.app_label, model_state.name_lower
            keys.append(key)
            final_apps.unregister_model(*key)
    final_apps.render_multiple([ModelState.from_model(global_apps.get_model(*key))
                                for key in keys])
    return final_apps

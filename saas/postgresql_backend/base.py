"""django-tenants' PostgreSQL backend, offering prepared statements to the spend hot
path, and a health check that costs no statement."""

import select
from typing import Any

import psycopg
from django.db.backends.postgresql.psycopg_any import register_tzloader
from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantDatabaseWrapper
from psycopg.pq import Format

TIMESTAMPTZ_OID = psycopg.postgres.types["timestamptz"].oid


class PreparedCursor(psycopg.Cursor[Any]):
    """Binds parameters on the server and prepares each statement on its first run, so the
    server parses and plans it once per connection.

    The statements name tables without a schema. Each is prepared once per agency (its text
    starts with a comment naming the schema): re-parsed under another search_path, one prepared
    statement would be planned again at every switch, and PostgreSQL refuses to run it at all
    where the two schemas' columns differ in type (during a migration).

    A migration that changes the type of a column a prepared statement returns makes PostgreSQL
    refuse that statement from then on ("cached plan must not change result type"). Outside a
    transaction the cursor then drops the connection's prepared statements (`DEALLOCATE ALL`,
    which psycopg notices) and runs it again; inside one the caller's rollback makes psycopg
    drop them, and the ledger records the spend again."""

    schema = ""

    def execute(self, query: Any, params: Any = None, *, prepare: bool | None = None,
                binary: bool | None = None) -> Any:
        statement = f"/* {self.schema} */ {query}"
        prepare = True if prepare is None else prepare
        try:
            return super().execute(statement, params, prepare=prepare, binary=binary)
        except psycopg.errors.FeatureNotSupported:
            if not self.connection.autocommit:
                raise
            super().execute("DEALLOCATE ALL", prepare=False)
            return super().execute(statement, params, prepare=prepare, binary=binary)


class DatabaseWrapper(TenantDatabaseWrapper):
    _prepared = False

    def is_usable(self) -> bool:
        """Django's health check (CONN_HEALTH_CHECKS) without its `SELECT 1`, a round trip at
        every request's first query: between requests the connection is idle and nothing is
        owed to it, so a socket with something to read means the server has hung up (a restart,
        an idle timeout, a terminated backend each send their FATAL and close). Such a
        connection, or one psycopg knows is closed or broken, is replaced."""
        if self.connection is None or self.connection.closed or self.connection.broken:
            return False
        if self.connection.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            return True  # inside a transaction Django never asks; the query will tell
        idle = select.poll()  # not select(), which fails for descriptors past 1023
        idle.register(self.connection.fileno(), select.POLLIN)
        return not idle.poll(0)

    def prepared_cursor(self) -> Any:
        """A cursor for the few fixed statements every spend runs. Unprepared, planning them
        costs PostgreSQL two to four times what running them does (pgbench, simple against
        prepared). Django's other queries keep client-side binding: the ORM's SQL is not always
        preparable, and most of it does not repeat."""
        self._prepared = True
        try:
            return self.cursor()  # django-tenants sets the search_path here
        finally:
            self._prepared = False

    def create_cursor(self, name: str | None = None) -> Any:
        if not self._prepared or name:
            return super().create_cursor(name)
        cursor = PreparedCursor(self.connection)
        cursor.schema = self.schema_name  # a slug's characters: no comment can be closed early
        loader = self.connection.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
        if self.timezone != loader.timezone:  # as Django's create_cursor
            register_tzloader(self.timezone, cursor)
        return cursor

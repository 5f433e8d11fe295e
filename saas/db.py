"""The default connection as django-tenants extends it (`schema_name`, `set_tenant`, ...), and
the composition of the few raw statements: table names from `Model._meta.db_table` and values
from the models' constants, through psycopg.sql.

Django's stubs type `connection` as a plain wrapper; this alias says what it really is here.
"""

from typing import Any

from django.db import connection as _connection
from django.db.models import Model
from psycopg import sql

connection: Any = _connection


def table(model: type[Model], *, schema: str | None = None) -> sql.Identifier:
    """A model's table as psycopg.sql quotes it, schema-qualified when `schema` is given."""
    name = model._meta.db_table
    return sql.Identifier(schema, name) if schema else sql.Identifier(name)


def compose(template: str, **parts: type[Model] | sql.Composable) -> str:
    """`template` with each `{name}` replaced: a model by its quoted table name, anything else
    (a `sql.Literal` of a model constant, a schema-qualified `table`) as psycopg.sql renders it.
    Composed once, where the statement is defined; the `%s` placeholders are left for the
    cursor."""
    values = {name: table(part) if isinstance(part, type) else part
              for name, part in parts.items()}
    return sql.SQL(template).format(**values).as_string(None)

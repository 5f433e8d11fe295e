"""The default connection as django-tenants extends it (`schema_name`, `set_tenant`, ...).

Django's stubs type `connection` as a plain wrapper; this alias says what it really is here.
"""

from typing import Any

from django.db import connection as _connection

connection: Any = _connection

"""A PostgreSQL backend's memory after one process has served spends for many agencies, with the
per-connection schema limit (`DATABASE_SCHEMAS_PER_CONNECTION`, saas.schemas_per_connection) and,
in the same run on the same agencies, without it (the baseline).

    make bench-memory                 # embedded PostgreSQL, or the database at DATABASE_URL
    python bench/backend_memory.py [--agencies 60] [--limit 10]

Every agency gets a brand, a campaign and one spend per round (`ledger.record_spend`, the hot
path with its prepared statements) through the one default connection; the figure is the private
memory (RssAnon) of the backend serving that connection at the end, read from /proc. Everything
the run creates is dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-never-used-to-serve-anything")

import django

django.setup()

from django.test.utils import override_settings  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from campaigns.ledger import SpendEvent, record_spend  # noqa: E402
from campaigns.models import Brand, Campaign  # noqa: E402
from saas.db import connection  # noqa: E402
from tenants.models import Agency  # noqa: E402
from tenants.services import create_agency  # noqa: E402

PASSWORD = "bench-Password-42"


def private_mb() -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 1024
    raise SystemExit("the database's backends are not on this machine: no /proc to read")


def make_agencies(prefix: str, count: int) -> list[tuple[str, int]]:
    made = []
    for n in range(count):
        slug = f"{prefix}-{n}"
        created = create_agency(name=f"Bench {slug}", slug=slug, email=f"owner@{slug}.test",
                                password=PASSWORD)
        with schema_context(created.agency.schema_name):
            brand = Brand.objects.create(name="Brand", timezone="Europe/Berlin")
            made.append((created.agency.schema_name,
                         Campaign.objects.create(brand=brand, name="Campaign").pk))
        print(f"\r  {n + 1}/{count} agencies", end="", flush=True)
    print()
    return made


def serve(agencies: Sequence[tuple[str, int]], limit: int) -> tuple[float, float]:
    """Private memory of the backend after a spend in every agency, twice round, and the
    milliseconds a spend took (reconnections included)."""
    connection.close()  # a fresh backend
    started = time.perf_counter()
    with override_settings(DATABASE_SCHEMAS_PER_CONNECTION=limit):
        for _ in range(2):
            for schema, campaign in agencies:
                with schema_context(schema):
                    now = datetime.now(UTC)
                    record_spend(SpendEvent(campaign, Decimal("0.01"), now, None), now=now)
        seconds = time.perf_counter() - started
        return private_mb(), seconds * 1000 / (2 * len(agencies))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agencies", type=int, default=60)
    parser.add_argument("--limit", type=int, default=10)
    args = parser.parse_args()
    prefix = f"bench-mem-{uuid.uuid4().hex[:6]}"
    try:
        agencies = make_agencies(prefix, args.agencies)
        one, _ = serve(agencies[:1], args.agencies + 1)
        without, without_ms = serve(agencies, args.agencies + 1)
        limited, limited_ms = serve(agencies, args.limit)
    finally:
        connection.set_schema_to_public()
        for agency in Agency.objects.filter(slug__startswith=prefix):
            agency.delete(force_drop=True)
    print(f"backend private memory after 1 agency:            {one:6.1f} MB")
    print(f"after {args.agencies} agencies, no limit (baseline):     {without:6.1f} MB  "
          f"(~{(without - one) * 1024 / max(args.agencies - 1, 1):.0f} kB an agency), "
          f"{without_ms:.1f} ms a spend")
    print(f"after {args.agencies} agencies, {args.limit} per connection:       {limited:6.1f} MB  "
          f"ratio {limited / without:.2f} to the baseline, {limited_ms:.1f} ms a spend")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

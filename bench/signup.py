"""Signup time, beside a bare `CREATE SCHEMA` + `DROP SCHEMA` measured in the same run.

    make bench            # embedded PostgreSQL, or the database at DATABASE_URL
    python bench/signup.py [--runs 15] [--without-template]

Each signup is the real service call (`create_agency`): agency row, domain, schema cloned from
`TENANT_BASE_SCHEMA`, first user and a token; then the same with a spare schema ready
(tenants.spares), which the signup renames instead of cloning. `--without-template` also times
signups that replay every migration instead (the baseline the template exists to beat).
Everything the run creates is dropped at the end.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-never-used-to-serve-anything")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.test.utils import override_settings  # noqa: E402

from saas.db import connection  # noqa: E402
from tenants import spares  # noqa: E402
from tenants.models import Agency  # noqa: E402
from tenants.services import create_agency  # noqa: E402

PASSWORD = "bench-Password-42"


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def bare_schema(name: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "{name}"')
        cursor.execute(f'DROP SCHEMA "{name}" CASCADE')


def signup(slug: str) -> None:
    create_agency(name=f"Bench {slug}", slug=slug, email=f"owner@{slug}.test", password=PASSWORD)


def cleanup(prefix: str) -> None:
    connection.set_schema_to_public()
    for agency in Agency.objects.filter(slug__startswith=prefix):
        agency.delete(force_drop=True)  # drops the schema; rows cascade (domain, tokens)


def measure(runs: int, prefix: str, label: str, *, refill: bool = False) -> list[float]:
    """Each signup timed; `refill` first makes a spare ready, untimed (as the minute's refill
    does between signups)."""
    times = []
    for n in range(runs):
        if refill:
            spares.refill()
        times.append(timed(functools.partial(signup, f"{prefix}{label}{n}")))
    return times


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description="Signup time beside a bare CREATE SCHEMA.")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--without-template", action="store_true",
                        help="also time 3 signups that replay every migration (slow)")
    args = parser.parse_args()

    call_command("migrate", interactive=False, verbosity=0)  # the template must exist
    prefix = f"bench{uuid.uuid4().hex[:6]}-"
    try:
        bare = statistics.median(
            timed(functools.partial(bare_schema, f"bench_bare_{n}")) for n in range(args.runs)
        )
        with override_settings(TENANT_SPARE_SCHEMAS=0):
            signup_median = statistics.median(measure(args.runs, prefix, "t"))
        spare_times = measure(args.runs, prefix, "s", refill=True)
        spare_median = statistics.median(spare_times)
        print(f"runs: {args.runs}")
        print(f"bare CREATE + DROP SCHEMA, median:    {ms(bare)}")
        print(f"signup cloning the template, median:  {ms(signup_median)} (the baseline)")
        print(f"signup renaming a spare, median:      {ms(spare_median)}  "
              f"max {ms(max(spare_times))}  ratio {spare_median / signup_median:.2f} to cloning")
        print(f"ratio signup (clone) / bare schema:   {signup_median / bare:8.1f} x")
        if args.without_template:
            no_template = {"TENANT_BASE_SCHEMA": None, "TENANT_CREATION_FAKES_MIGRATIONS": False}
            with override_settings(**no_template):
                replayed = statistics.median(measure(3, prefix, "m"))
            print(f"signup replaying migrations, median:  {ms(replayed)} (3 runs)")
    finally:
        cleanup(prefix)
    print(f"cleaned up: schemas and rows of {prefix}*")
    return 0


if __name__ == "__main__":
    sys.exit(main())

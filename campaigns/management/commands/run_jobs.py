"""`python manage.py run_jobs [--now <instant>] [--tenant <slug>]`: one pass of all periodic work,
synchronously, through the same code as the Celery tasks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from campaigns.api.fields import parse_instant
from campaigns.jobs import PassResult
from campaigns.tenant_passes import run_all_tenants


class Command(BaseCommand):
    help = "Run the budget check, dayparting and daily/monthly resets once, as of --now."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--now", help="ISO 8601 instant with offset (default: now)")
        parser.add_argument("--tenant", help="only this agency's slug")

    def handle(self, *args: Any, **options: Any) -> None:
        at = self._instant(options["now"])
        results = run_all_tenants(at, slug=options["tenant"], on_result=self._print)
        if options["tenant"] and not results:
            raise CommandError(f"No agency with slug {options['tenant']!r}.")
        changed = sum(len(r.transitions) for r in results)
        self.stdout.write(f"{len(results)} agencies, {changed} campaigns changed as of "
                          f"{at.isoformat()}")

    @staticmethod
    def _instant(value: str | None) -> datetime:
        if not value:
            return timezone.now()
        try:
            return parse_instant(value)
        except ValueError as exc:
            raise CommandError(f"--now: {exc}") from exc

    def _print(self, slug: str, result: PassResult | None) -> None:
        if result is None:
            self.stderr.write(f"{slug}: pass failed (see log)")
            return
        if result.skipped:
            self.stderr.write(f"{slug}: skipped, another pass of this agency holds its lock")
            return
        for t in result.transitions:
            reasons = ", ".join(t.reasons) or "-"
            self.stdout.write(f"{slug}: campaign {t.campaign_id} {t.from_status} -> "
                              f"{t.to_status} (reasons: {reasons})")

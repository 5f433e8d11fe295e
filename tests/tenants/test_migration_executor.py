"""How `tenants.migration_executor` runs schemas in forked processes when one fails: the run
stops and names it, whether it raised, exited or its process died; the schemas not started yet
are skipped, the running ones finish. (Whole runs on real schemas: tests/saas/test_migrate.py.)"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
from django.core.management.base import CommandError

from tenants.migration_executor import Group


class Scripted(Group):
    """A group whose 'migration' of a schema is scripted by the schema's name."""

    def migrate(self, schema: str) -> float:
        Path(self.options["log"], schema).write_text("started")
        if schema == "dies":
            os._exit(3)  # as a kill or the out-of-memory killer would end it
        if schema == "exits":
            raise SystemExit(2)  # a RunPython calling sys.exit
        if schema == "raises":
            raise RuntimeError("column already exists")
        time.sleep(0.05)
        return 0.05


def run(tmp_path: Path, schemas: list[str], settings: Any) -> list[str]:
    settings.TENANT_MULTIPROCESSING_MAX_PROCESSES = 2
    group = Scripted("default", {"verbosity": 0, "log": str(tmp_path)}, schemas)
    return [schema for schema, _ in group.migrate_all(schemas)]


@pytest.mark.parametrize(("culprit", "message"), [
    ("raises", "column already exists"), ("exits", "SystemExit"),
    ("dies", "ended without an answer"),
])
def test_a_failing_schema_stops_the_run_and_is_named(
    tmp_path: Path, settings: Any, culprit: str, message: str
) -> None:
    schemas = ["a", culprit, *(f"later{n}" for n in range(20))]
    started = time.monotonic()
    with pytest.raises(CommandError, match=message) as stopped:
        run(tmp_path, schemas, settings)
    assert time.monotonic() - started < 20  # never waits forever for a dead process
    assert culprit in str(stopped.value) or culprit == "dies"
    assert "not started" in str(stopped.value)
    assert len(list(tmp_path.iterdir())) < len(schemas)  # the rest skipped


def test_every_schema_is_reported_when_none_fails(tmp_path: Path, settings: Any) -> None:
    schemas = [f"s{n}" for n in range(6)]
    assert sorted(run(tmp_path, schemas, settings)) == schemas

"""Start-up configuration, checked the way an operator meets it: in a fresh process."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_with(env_changes: dict[str, str | None], *args: str) -> subprocess.CompletedProcess[str]:
    """Run `args` from the checkout with production settings and `env_changes` (None unsets)."""
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    for key, value in env_changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return subprocess.run(
        args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_without_secret_key_and_debug_off_start_up_stops_with_a_clear_message() -> None:
    for command in (
        [sys.executable, "-c", "import django; import os; "
         "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'saas.settings'); django.setup()"],
        [sys.executable, "manage.py", "check"],
    ):
        result = run_with({"SECRET_KEY": None, "DEBUG": None}, *command)
        assert result.returncode != 0, command
        assert "SECRET_KEY is not set" in result.stderr, result.stderr


def test_deploy_check_behind_a_tls_proxy_has_no_warnings() -> None:
    result = run_with(
        {"SECRET_KEY": secrets.token_urlsafe(50), "DEBUG": "0", "HTTPS": "1"},
        sys.executable, "manage.py", "check", "--deploy",
    )
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout, (
        result.stdout + result.stderr
    )


def test_deploy_check_without_https_silences_only_what_the_proxy_owns() -> None:
    # HTTPS redirect, HSTS and the two secure-cookie flags: the README says why, HTTPS=1 sets them.
    result = run_with(
        {"SECRET_KEY": secrets.token_urlsafe(50), "DEBUG": "0", "HTTPS": None},
        sys.executable, "manage.py", "check", "--deploy",
    )
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (4 silenced)." in result.stdout, (
        result.stdout + result.stderr
    )

"""`make run`: migrate, make the demo agency on first start, then run web, worker and beat.

Their logs are interleaved, each line labelled with its process; Ctrl-C stops all three.
Run through `python -m saas.embedded`, which provides DATABASE_URL and REDIS_URL.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# The passes' queue, and the hourly full passes' when FULL_PASS_QUEUE names another.
PASS_QUEUES = ",".join(dict.fromkeys(["celery", os.environ.get("FULL_PASS_QUEUE", "celery")]))
COLOURS = {"web": "\033[36m", "worker": "\033[33m", "hooks": "\033[34m", "beat": "\033[35m",
           "setup": "\033[32m"}
RESET = "\033[0m"


def label(name: str) -> str:
    if not sys.stdout.isatty():
        return f"{name:>6} | "
    return f"{COLOURS.get(name, '')}{name:>6}{RESET} | "


def development_environment() -> dict[str, str]:
    """DEBUG on and a secret kept under `.data/` (never committed) unless the caller set them."""
    env = dict(os.environ)
    env.setdefault("DEBUG", "1")
    env.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")
    env.setdefault("PYTHONUNBUFFERED", "1")
    # Webhooks to http:// and to this machine, so the local receiver below can be used.
    env.setdefault("WEBHOOK_ALLOW_PRIVATE", "1")
    if not env.get("SECRET_KEY"):
        key_file = ROOT / ".data" / "secret_key"
        key_file.parent.mkdir(parents=True, exist_ok=True)
        if not key_file.exists():
            key_file.write_text(secrets.token_urlsafe(50))
            key_file.chmod(0o600)
        env["SECRET_KEY"] = key_file.read_text().strip()
    return env


def manage(env: dict[str, str], *args: str) -> None:
    print(f"{label('setup')}python manage.py {' '.join(args)}", flush=True)
    subprocess.run([str(BIN / "python"), "manage.py", *args], cwd=ROOT, env=env, check=True)


def pump(name: str, stream: IO[str]) -> None:
    for line in stream:
        sys.stdout.write(label(name) + line)
        sys.stdout.flush()


PUMPS: list[threading.Thread] = []


def start(name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    """Start one process in a session of its own: Ctrl-C reaches only us, and we stop it."""
    process = subprocess.Popen(
        args, cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    assert process.stdout is not None
    pump_thread = threading.Thread(target=pump, args=(name, process.stdout), daemon=True)
    pump_thread.start()
    PUMPS.append(pump_thread)
    return process


def processes(env: dict[str, str], port: str) -> dict[str, list[str]]:
    return {
        # No control socket: its default path is per user, shared by every checkout's `make run`.
        "web": [str(BIN / "gunicorn"), "saas.wsgi:application", "--bind", f"0.0.0.0:{port}",
                "--workers", "2", "--access-logfile", "-", "--no-control-socket"],
        # Budget passes and sweeps (the hourly ones too, wherever FULL_PASS_QUEUE puts them)
        # on one worker, webhook deliveries (which wait on other
        # people's servers) on another: a slow receiver never holds a pass back.
        "worker": [str(BIN / "celery"), "-A", "saas", "worker", "--loglevel", "INFO",
                   "--concurrency", "2", "-Q", PASS_QUEUES, "-n", "jobs@%h"],
        "hooks": [str(BIN / "celery"), "-A", "saas", "worker", "--loglevel", "INFO",
                  "--concurrency", "4", "-Q", "webhooks", "-n", "webhooks@%h"],
        "beat": [str(BIN / "celery"), "-A", "saas", "beat", "--loglevel", "INFO"],
    }


def print_welcome(env: dict[str, str], port: str) -> None:
    domain = env.get("BASE_DOMAIN", "localhost")
    lines = [
        "",
        "Budget control is running. Open:",
        f"  API docs        http://{domain}:{port}/api/v1/docs/",
        f"  Sign up         http://{domain}:{port}/signup/",
        f"  Operator admin  http://{domain}:{port}/admin/  (python manage.py createsuperuser)",
        f"  Health          http://{domain}:{port}/healthz",
    ]
    lines += webhook_lines(domain, port)
    demo = ROOT / ".data" / "demo.txt"
    if demo.exists():
        lines += ["", demo.read_text().rstrip()]
    lines += ["", "Ctrl-C stops everything: web, worker, beat, and the embedded PostgreSQL and "
              "Redis.", ""]
    print("\n".join(lines), flush=True)


def webhook_lines(domain: str, port: str) -> list[str]:
    """How to watch deliveries: an endpoint on this machine and the receiver that verifies
    and prints them (WEBHOOK_ALLOW_PRIVATE is on for the processes started here)."""
    receiver = f"{BIN / 'python'} -m notifications.receiver --port 9000 --secret whsec_..."
    return [
        "",
        "Watch webhook deliveries locally:",
        f"  1. add an endpoint http://127.0.0.1:9000/ on your agency's Webhooks page "
        f"(http://<agency>.{domain}:{port}/webhooks/) or with POST /api/v1/webhooks, "
        "and copy its secret",
        f"  2. {receiver}",
        "     (--fail-rate 0.5 or --status 503 fails on purpose, to watch the retries)",
    ]


def wait_until_serving(port: str, web: subprocess.Popen[str], timeout: float = 30.0) -> None:
    """Return once /healthz answers (or the web process died, or time ran out)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and web.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return
        except OSError:  # not listening yet, or 503 while the broker connects
            time.sleep(0.3)


def stop_all(running: dict[str, subprocess.Popen[str]]) -> None:
    for process in running.values():
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in running.values():
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    for pump_thread in PUMPS:  # their last lines, before our own exit
        pump_thread.join(timeout=2)


def interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    env = development_environment()
    port = env.get("PORT", "8000")
    manage(env, "migrate", "--noinput")
    demo_marker = ROOT / ".data" / "demo.txt"
    if not demo_marker.exists() and (ROOT / "campaigns" / "management" / "commands" /
                                     "seed_demo.py").exists():
        manage(env, "seed_demo", "--output", str(demo_marker))
    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGHUP, interrupt)
    running: dict[str, subprocess.Popen[str]] = {}
    exited: list[str] = []
    try:
        running = {name: start(name, args, env) for name, args in processes(env, port).items()}
        wait_until_serving(port, running["web"])
        print_welcome(env, port)
        while not exited:
            time.sleep(0.5)
            exited = [name for name, process in running.items() if process.poll() is not None]
    except KeyboardInterrupt:
        pass
    finally:
        print(f"{label('setup')}stopping web, worker and beat ...", flush=True)
        stop_all(running)
    if exited:
        print(f"{label('setup')}{', '.join(exited)} exited on its own; see its log above.",
              file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # Ctrl-C while migrating: nothing else is running yet
        sys.exit(130)
    except subprocess.CalledProcessError as error:  # its output above says what went wrong
        print(f"{label('setup')}{' '.join(error.cmd[1:])} failed (exit {error.returncode})",
              file=sys.stderr, flush=True)
        sys.exit(1)

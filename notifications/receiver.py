"""A webhook receiver for developers: verifies each delivery and prints one line per event.

    python -m notifications.receiver --port 9000 --secret whsec_...

Signatures are checked with the `standardwebhooks` package, as a consumer would (any of the
space-separated signatures may match; pass `--secret` twice while a rotation is under way).
It answers 204, or 401 for a bad signature; `--fail-rate 0.3` and `--status 503` answer
errors on purpose to watch retries, `--retry-after 30` adds that header to them.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TextIO

from standardwebhooks import Webhook, WebhookVerificationError
from standardwebhooks.webhooks import EmptyWebhookSecretError

MAX_BODY = 4 * 1024 * 1024


@dataclass
class Behaviour:
    """How the receiver answers: which secrets it trusts and how often it fails on purpose."""

    secrets: Sequence[str]
    fail_rate: float = 0.0
    fail_status: int = 503
    retry_after: int | None = None
    rng: random.Random = field(default_factory=random.Random)
    out: TextIO = sys.stdout
    _seen: set[str] = field(default_factory=set, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def verified(self, body: bytes, headers: dict[str, str]) -> Any:
        """The parsed event if one of the secrets signed it; WebhookVerificationError if not."""
        for secret in self.secrets:
            try:
                return Webhook(secret).verify(body, headers)
            except WebhookVerificationError:
                continue
        raise WebhookVerificationError("no signature matches any secret")

    def fails_now(self) -> bool:
        with self._lock:
            return self.rng.random() < self.fail_rate

    def report(self, webhook_id: str, line: str) -> None:
        with self._lock:
            again = " (again)" if webhook_id in self._seen else ""
            self._seen.add(webhook_id)
            print(f"{_now()} {webhook_id} {line}{again}", file=self.out, flush=True)


def summary(event: Any) -> str:
    """`type` and a few words on what happened, from an event as the events API shows it."""
    if not isinstance(event, dict):
        return "(not an event object)"
    kind, data = str(event.get("type", "?")), event.get("data") or {}
    if not isinstance(data, dict):
        return kind
    if kind in ("campaign.paused", "campaign.resumed"):
        campaign = data.get("campaign") or {}
        reasons = ",".join(data.get("reasons") or []) or "-"
        return (
            f"{kind} campaign {campaign.get('id')} {campaign.get('name')!r}: "
            f"{data.get('from')} -> {data.get('to')} [{reasons}] cause={data.get('cause')}"
        )
    if kind == "budget.threshold_reached":
        return (
            f"{kind} {data.get('scope')} {data.get('id')} {data.get('budget')} "
            f"{data.get('threshold')}%: {data.get('spent')} of {data.get('limit')}"
        )
    if kind == "webhook.disabled":
        return f"{kind} webhook {data.get('webhook')}: {data.get('reason')}"
    if kind == "webhook.test":
        return f"{kind} webhook {data.get('webhook')}"
    return f"{kind} {json.dumps(data, sort_keys=True)[:120]}"


class _Handler(BaseHTTPRequestHandler):
    server: _Receiver
    protocol_version = "HTTP/1.1"  # keep-alive, for clients that reuse connections

    def do_POST(self) -> None:
        behaviour = self.server.behaviour
        length = self.headers.get("content-length", "")
        if not length.isdigit() or int(length) > MAX_BODY:
            self.close_connection = True  # the body is not read: the stream is out of step
            self._answer(413 if length.isdigit() else 411)
            return
        body = self.rfile.read(int(length))
        webhook_id = self.headers.get("webhook-id", "-")
        try:
            event = behaviour.verified(body, dict(self.headers.items()))
        except (WebhookVerificationError, ValueError) as error:
            behaviour.report(webhook_id, f"rejected: {error} -> 401")
            self._answer(401)
            return
        if behaviour.fails_now():
            behaviour.report(webhook_id, f"{summary(event)} -> {behaviour.fail_status} on purpose")
            self._answer(behaviour.fail_status, behaviour.retry_after)
            return
        behaviour.report(webhook_id, summary(event))
        self._answer(204)

    def _answer(self, status: int, retry_after: int | None = None) -> None:
        self.send_response(status)
        if retry_after is not None:
            self.send_header("retry-after", str(retry_after))
        if status != 204:  # a 204 has no body and so no Content-Length (RFC 9110)
            self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: one line per event is printed by `Behaviour.report` instead."""


class _Receiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], behaviour: Behaviour) -> None:
        super().__init__(address, _Handler)
        self.behaviour = behaviour


def make_server(host: str, port: int, behaviour: Behaviour) -> ThreadingHTTPServer:
    """A receiver bound to (host, port) (port 0 picks a free one); run it with serve_forever."""
    return _Receiver((host, port), behaviour)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m notifications.receiver", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument(
        "--secret",
        action="append",
        help="the endpoint's whsec_ secret (repeat for several; default $WEBHOOK_SECRET)",
    )
    parser.add_argument("--fail-rate", type=float, help="share of deliveries to fail (0 to 1)")
    parser.add_argument("--status", type=int, help="the status of a failure (default 503)")
    parser.add_argument("--retry-after", type=int, help="seconds to put in Retry-After")
    return parser.parse_args(argv)


def behaviour_from(arguments: argparse.Namespace) -> Behaviour:
    """--status alone fails every delivery; --fail-rate alone fails with 503."""
    secrets = arguments.secret or [s for s in [os.environ.get("WEBHOOK_SECRET")] if s]
    if not secrets:
        raise SystemExit("a secret is needed: --secret whsec_... (or WEBHOOK_SECRET)")
    for secret in secrets:
        try:
            Webhook(secret)
        except (ValueError, EmptyWebhookSecretError) as error:
            raise SystemExit(f"not a webhook secret: {secret[:10]}... ({error})") from error
    fail_rate = arguments.fail_rate
    if fail_rate is None:
        fail_rate = 1.0 if arguments.status is not None else 0.0
    if not 0.0 <= fail_rate <= 1.0:
        raise SystemExit("--fail-rate is a share between 0 and 1")
    return Behaviour(
        secrets=secrets,
        fail_rate=fail_rate,
        fail_status=arguments.status or 503,
        retry_after=arguments.retry_after,
    )


def main(argv: Sequence[str] | None = None) -> None:
    arguments = _arguments(argv)
    server = make_server(arguments.host, arguments.port, behaviour_from(arguments))
    host, port = server.server_address[:2]
    print(f"receiving webhooks on http://{host!s}:{port}/ (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()

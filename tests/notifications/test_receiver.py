"""The developers' receiver, end to end with the sender: it verifies signatures as a consumer
would, prints one line per event and fails on purpose when asked to."""

from __future__ import annotations

import io
import json
import os
import random
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from notifications import receiver
from notifications.receiver import Behaviour, behaviour_from, make_server
from notifications.sender import SendResult, send
from notifications.signing import delivery_headers, new_secret

PAUSED = {
    "id": 42,
    "type": "campaign.paused",
    "created_at": "2026-03-01T12:00:00Z",
    "data": {
        "campaign": {"id": 7, "name": "Spring sale", "brand": 3},
        "from": "active",
        "to": "paused",
        "reasons": ["campaign_daily_budget"],
        "cause": "spend",
        "at": "2026-03-01T12:00:00Z",
        "overshoot": {"campaign_daily_budget": "0.00"},
    },
}
Deliver = Callable[..., SendResult]


@pytest.fixture
def secret() -> str:
    return new_secret()


@pytest.fixture
def behaviour(secret: str) -> Behaviour:
    return Behaviour(secrets=[secret], out=io.StringIO(), rng=random.Random(5))


@pytest.fixture
def deliver(behaviour: Behaviour) -> Iterator[Deliver]:
    server = make_server("127.0.0.1", 0, behaviour)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"

    def post(event: dict[str, object] = PAUSED, secrets: list[str] | None = None) -> SendResult:
        body = json.dumps(event).encode()
        signers = secrets or list(behaviour.secrets)
        headers = delivery_headers(signers, str(event["id"]), datetime.now(UTC), body)
        return send(url, body, headers, allow_private=True)

    yield post
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def printed(behaviour: Behaviour) -> list[str]:
    assert isinstance(behaviour.out, io.StringIO)
    return behaviour.out.getvalue().splitlines()


def test_a_signed_delivery_is_answered_204_and_printed_on_one_line(
    deliver: Deliver, behaviour: Behaviour
) -> None:
    result = deliver()

    assert (result.status_code, result.error) == (204, None)
    [line] = printed(behaviour)
    assert " 42 campaign.paused campaign 7 'Spring sale': active -> paused" in line
    assert "[campaign_daily_budget] cause=spend" in line


def test_a_delivery_signed_with_another_secret_is_answered_401(
    deliver: Deliver, behaviour: Behaviour
) -> None:
    result = deliver(secrets=[new_secret()])

    assert result.status_code == 401
    assert "rejected" in printed(behaviour)[0]


def test_during_a_rotation_a_receiver_with_only_the_new_secret_accepts(
    deliver: Deliver, behaviour: Behaviour, secret: str
) -> None:
    assert deliver(secrets=[new_secret(), secret]).status_code == 204


def test_a_repeated_webhook_id_is_marked_as_such(deliver: Deliver, behaviour: Behaviour) -> None:
    deliver()
    deliver()

    first, second = printed(behaviour)
    assert not first.endswith("(again)")
    assert second.endswith("(again)")


def test_failing_on_purpose_answers_the_status_with_retry_after(
    deliver: Deliver, behaviour: Behaviour
) -> None:
    behaviour.fail_rate, behaviour.fail_status, behaviour.retry_after = 1.0, 503, 7

    result = deliver()

    assert (result.status_code, result.retry_after) == (503, timedelta(seconds=7))
    assert result.error == "HTTP 503 Service Unavailable"
    assert printed(behaviour)[0].endswith("-> 503 on purpose")


def test_a_fail_rate_fails_about_that_share(deliver: Deliver, behaviour: Behaviour) -> None:
    behaviour.fail_rate = 0.3

    failures = sum(deliver().status_code == 503 for _ in range(60))

    assert 6 <= failures <= 32


@pytest.mark.parametrize(
    ("event", "summary"),
    [
        (
            {
                "type": "budget.threshold_reached",
                "data": {"scope": "brand", "id": 3, "budget": "daily", "threshold": 80,
                         "limit": "100.00", "spent": "80.50"},
            },
            "budget.threshold_reached brand 3 daily 80%: 80.50 of 100.00",
        ),
        (
            {"type": "webhook.disabled", "data": {"webhook": 5, "reason": "410 Gone"}},
            "webhook.disabled webhook 5: 410 Gone",
        ),
        ({"type": "webhook.test", "data": {"webhook": 5}}, "webhook.test webhook 5"),
        ([1, 2], "(not an event object)"),
    ],
)
def test_each_event_type_has_a_short_summary(event: object, summary: str) -> None:
    assert receiver.summary(event) == summary


def test_status_alone_fails_every_delivery_and_fail_rate_alone_fails_with_503(
    secret: str,
) -> None:
    def parsed(*argv: str) -> Behaviour:
        return behaviour_from(receiver._arguments(["--secret", secret, *argv]))

    def answered(*argv: str) -> tuple[float, int]:
        chosen = parsed(*argv)
        return chosen.fail_rate, chosen.fail_status

    assert answered() == (0.0, 503)
    assert answered("--status", "500") == (1.0, 500)
    assert answered("--fail-rate", "0.3") == (0.3, 503)
    assert answered("--fail-rate", "0.5", "--status", "429") == (0.5, 429)
    with pytest.raises(SystemExit):
        parsed("--fail-rate", "2")


def test_a_missing_or_malformed_secret_stops_the_receiver_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("WEBHOOK_SECRET", raising=False)
    with pytest.raises(SystemExit, match="a secret is needed"):
        behaviour_from(receiver._arguments([]))
    with pytest.raises(SystemExit, match="not a webhook secret"):
        behaviour_from(receiver._arguments(["--secret", "whsec_"]))


def test_python_m_notifications_receiver_runs_and_prints_deliveries(secret: str) -> None:
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(
        [sys.executable, "-m", "notifications.receiver", "--port", "0", "--secret", secret],
        cwd=root,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        url = banner.split()[3]
        body = json.dumps(PAUSED).encode()
        headers = delivery_headers([secret], "42", datetime.now(UTC), body)

        result = send(url, body, headers, allow_private=True)

        assert result.status_code == 204, result.error
        assert " 42 campaign.paused " in process.stdout.readline()
    finally:
        process.terminate()
        process.wait(timeout=10)

"""Deliveries are signed per Standard Webhooks 1.0: checked with the `standardwebhooks` package
a consumer uses, and independently by recomputing the HMAC by hand."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from notifications.signing import delivery_headers, new_secret, signature_header

BODY = json.dumps({"id": 42, "type": "campaign.paused", "data": {"to": "paused"}}).encode()


def hand_rolled_signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def test_a_new_secret_is_whsec_and_the_base64_of_32_random_bytes() -> None:
    secrets = {new_secret() for _ in range(50)}

    assert len(secrets) == 50
    for secret in secrets:
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32


def test_the_headers_are_the_four_standard_webhooks_asks_for() -> None:
    secret, now = new_secret(), datetime.now(UTC)

    headers = delivery_headers([secret], "42", now, BODY)

    assert headers["webhook-id"] == "42"
    assert headers["webhook-timestamp"] == str(int(now.timestamp()))
    assert headers["content-type"] == "application/json"
    assert headers["webhook-signature"].startswith("v1,")
    assert set(headers) == {"webhook-id", "webhook-timestamp", "webhook-signature", "content-type"}


def test_the_signature_is_the_hmac_of_id_timestamp_and_body_keyed_with_the_decoded_secret() -> None:
    secret = new_secret()

    header = signature_header([secret], "42", 1_767_225_600, BODY)

    assert header == hand_rolled_signature(secret, "42", 1_767_225_600, BODY)


def test_the_standardwebhooks_package_verifies_a_delivery() -> None:
    secret = new_secret()
    headers = delivery_headers([secret], "42", datetime.now(UTC), BODY)

    assert Webhook(secret).verify(BODY, headers) == json.loads(BODY)


def test_a_tampered_body_or_another_secret_fails_verification() -> None:
    secret = new_secret()
    headers = delivery_headers([secret], "42", datetime.now(UTC), BODY)

    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace(b"paused", b"resumed"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, {**headers, "webhook-id": "43"})


def test_during_a_rotation_each_secret_alone_verifies_the_delivery() -> None:
    old, new, now = new_secret(), new_secret(), datetime.now(UTC)
    headers = delivery_headers([old, new], "42", now, BODY)
    old_signature, new_signature = headers["webhook-signature"].split(" ")

    assert Webhook(old).verify(BODY, headers) == json.loads(BODY)
    assert Webhook(new).verify(BODY, headers) == json.loads(BODY)
    timestamp = int(now.timestamp())
    assert old_signature == hand_rolled_signature(old, "42", timestamp, BODY)
    assert new_signature == hand_rolled_signature(new, "42", timestamp, BODY)
    only_old = {**headers, "webhook-signature": old_signature}
    Webhook(old).verify(BODY, only_old)
    with pytest.raises(WebhookVerificationError):
        Webhook(new).verify(BODY, only_old)


def test_an_instant_in_any_offset_signs_as_the_same_unix_second() -> None:
    secret = new_secret()
    utc = datetime(2026, 1, 1, 12, 0, 30, 900_000, tzinfo=UTC)
    tokyo = utc.astimezone(timezone(timedelta(hours=9)))

    expected = hand_rolled_signature(secret, "7", int(utc.timestamp()), BODY)

    assert signature_header([secret], "7", tokyo, BODY) == expected
    assert signature_header([secret], "7", utc, BODY.decode()) == expected
    assert delivery_headers([secret], "7", tokyo, BODY)["webhook-timestamp"] == "1767268830"


def test_a_naive_instant_or_no_secret_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        signature_header([new_secret()], "1", datetime(2026, 1, 1), BODY)
    with pytest.raises(ValueError, match="at least one secret"):
        signature_header([], "1", 0, BODY)

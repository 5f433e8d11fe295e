"""Standard Webhooks 1.0 signatures, made with the `standardwebhooks` package.

Consumers verify with that package (or its siblings in other languages), so signing through it
rules out a framing mismatch of our own. During a secret rotation both the old and the new
secret sign: the header carries one `v1,<base64>` per secret, and a consumer holding either one
accepts the delivery.
"""

from __future__ import annotations

import base64
import math
import secrets as random_source
from collections.abc import Sequence
from datetime import UTC, datetime

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32  # the contract asks for at least 24 random bytes


def new_secret() -> str:
    """A fresh endpoint secret: `whsec_` and the base64 of 32 random bytes."""
    key = random_source.token_bytes(SECRET_BYTES)
    return SECRET_PREFIX + base64.b64encode(key).decode("ascii")


def unix_seconds(timestamp: datetime | int) -> int:
    """The whole Unix seconds of an attempt's instant, as the `webhook-timestamp` header says."""
    if isinstance(timestamp, int):
        return timestamp
    if timestamp.tzinfo is None:
        raise ValueError("webhook timestamp must be timezone-aware")
    return math.floor(timestamp.timestamp())


def signature_header(
    secrets: Sequence[str], msg_id: str, timestamp: datetime | int, body: bytes | str
) -> str:
    """The `webhook-signature` value: one `v1,<base64 HMAC-SHA256>` per secret, space-separated.

    The signed content is `{msg_id}.{timestamp}.{body}`, keyed with each secret's decoded bytes.
    """
    if not secrets:
        raise ValueError("at least one secret is needed to sign a webhook")
    # The library reads the instant with `replace(tzinfo=UTC)`, so hand it a UTC datetime:
    # any other offset would silently shift the signed timestamp.
    instant = datetime.fromtimestamp(unix_seconds(timestamp), UTC)
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    return " ".join(Webhook(secret).sign(msg_id, instant, text) for secret in secrets)


def delivery_headers(
    secrets: Sequence[str], msg_id: str, timestamp: datetime | int, body: bytes | str
) -> dict[str, str]:
    """Every header Standard Webhooks asks of a delivery attempt."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(unix_seconds(timestamp)),
        "webhook-signature": signature_header(secrets, msg_id, timestamp, body),
        "content-type": "application/json",
    }

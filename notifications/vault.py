"""Webhook secrets at rest: sealed with a key derived from SECRET_KEY.

The service must sign every delivery with the endpoint's secret, so it has to keep the secret
itself, not a hash of it. Sealed (Fernet: AES-128-CBC with an HMAC-SHA256, from `cryptography`),
a copy of the database or a backup alone cannot sign deliveries; it also takes SECRET_KEY. The
key is derived with HKDF for this one purpose, so it is never the key Django signs sessions
with. Secrets sealed under a key in SECRET_KEY_FALLBACKS still open, which lets SECRET_KEY be
rotated the way Django documents it.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

_PURPOSE = b"budget-control webhook endpoint secrets v1"


class SecretUnreadable(Exception):
    """A sealed secret that no configured key opens (SECRET_KEY changed without a fallback)."""


def _fernet_key(secret_key: str) -> bytes:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_PURPOSE).derive(
        secret_key.encode("utf-8"))
    return base64.urlsafe_b64encode(derived)


@lru_cache(maxsize=4)
def _cipher(secret_key: str, fallbacks: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(_fernet_key(key)) for key in (secret_key, *fallbacks)])


def _current() -> MultiFernet:
    return _cipher(settings.SECRET_KEY, tuple(getattr(settings, "SECRET_KEY_FALLBACKS", ())))


def seal(secret: str) -> str:
    """The secret as stored: sealed with the current key."""
    return _current().encrypt(secret.encode("utf-8")).decode("ascii")


def unseal(sealed: str) -> str:
    """The secret back, with the current key or a fallback; SecretUnreadable if neither opens."""
    try:
        return _current().decrypt(sealed.encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError) as error:
        raise SecretUnreadable("the webhook secret was sealed with a key no longer configured"
                               ) from error

"""API token secrets: made once, shown once, stored only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

PREFIX_LENGTH = 12


@dataclass(frozen=True)
class NewToken:
    prefix: str
    secret_hash: str
    plaintext: str  # `<prefix>_<secret>`: given to the user once, never stored


def hash_secret(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def generate_token() -> NewToken:
    """A 32-byte random secret behind a short public prefix that identifies it in lists."""
    prefix = "bc" + secrets.token_hex(PREFIX_LENGTH // 2 - 1)
    plaintext = f"{prefix}_{secrets.token_hex(32)}"
    return NewToken(prefix=prefix, secret_hash=hash_secret(plaintext), plaintext=plaintext)


def looks_like_token(value: str) -> bool:
    prefix, sep, secret = value.partition("_")
    return bool(sep) and len(prefix) == PREFIX_LENGTH and len(secret) == 64

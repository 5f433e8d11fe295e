"""A password rule Django's own validators lack."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

MIN_DISTINCT = 5


class VariedCharactersValidator:
    """Refuses passwords of a few repeated characters: eight spaces passed the length rule."""

    def validate(self, password: str, user: Any = None) -> None:
        if len(set(password.strip())) < MIN_DISTINCT:
            raise ValidationError(
                f"This password needs at least {MIN_DISTINCT} different characters, "
                "not counting spaces at either end.", code="password_too_uniform")

    def get_help_text(self) -> str:
        return f"Your password must have at least {MIN_DISTINCT} different characters."

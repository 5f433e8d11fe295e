"""System checks of the service's own settings: `migrate` and `check` fail on them before any
request does."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register
from django.core.exceptions import ImproperlyConfigured

from saas.ratelimit import Rate


@register()
def rates_are_rates(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    for name in ("SIGNUP_RATE", "API_RATE_LIMIT", "AGENCY_RATE_LIMIT"):
        try:
            Rate.parse(getattr(settings, name))
        except ImproperlyConfigured as exc:
            errors.append(Error(f"{name}: {exc}", id="saas.E001"))
    return errors

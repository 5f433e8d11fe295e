"""The service's settings without the per-token rate limit: bench/limiter.py's reference."""

from saas.settings import *  # noqa: F403
from saas.settings import MIDDLEWARE

MIDDLEWARE = [name for name in MIDDLEWARE if name != "saas.throttle.TokenRateLimitMiddleware"]

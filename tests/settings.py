"""The service's settings, with a throwaway secret so the suite needs no configuration."""

import os

os.environ.setdefault("SECRET_KEY", "tests-only-secret-not-used-anywhere-else")

from saas.settings import *  # noqa: F403

"""The service's settings, with a throwaway secret so the suite needs no configuration."""

import os

os.environ.setdefault("SECRET_KEY", "tests-only-secret-not-used-anywhere-else")
# The suite signs up many agencies from one address; the tests of the limit set their own.
os.environ.setdefault("SIGNUP_RATE", "100000/hour")

from saas.settings import *  # noqa: F403

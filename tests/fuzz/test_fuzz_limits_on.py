"""Every operation with the default rate limits on (send limits, sign-in, captcha pictures):
429 answers must be documented and carry Retry-After. See harness.py for the checks."""

import pytest

from .harness import SCHEMA, budget, send

pytestmark = pytest.mark.fuzz
APP_SETTINGS = {"RATELIMIT_ENABLED": True}


@SCHEMA.parametrize()
@budget(0.5)
def test_with_rate_limits(case, target):
    send(case, *target, "admin")

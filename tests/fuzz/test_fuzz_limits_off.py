"""Every operation with rate limits off (so a 429 hides nothing), as the admin and as a plain
user, then the document's links followed statefully. See harness.py for the checks."""

import pytest

from .harness import CHECKS, SCHEMA, budget, load_schema, send

pytestmark = pytest.mark.fuzz
APP_SETTINGS = {"RATELIMIT_ENABLED": False}


@SCHEMA.parametrize()
@budget()
def test_as_admin(case, target):
    send(case, *target, "admin")


@SCHEMA.parametrize()
@budget(0.2)
def test_as_plain_user(case, target):
    """Admin operations answer 403, the account operations act on the user's own account."""
    send(case, *target, "user")


def test_links(target):
    """Stateful: captcha -> registration, invite created -> disabled, session listed -> ended,
    user listed -> shown (token links need a sign-in the fuzzer cannot complete)."""
    app, accounts = target

    class Workflow(load_schema(app).as_state_machine()):
        def setup(self):
            # Each scenario starts from the same state: Hypothesis replays scenarios and
            # refuses ones whose links (drawn from earlier answers) come out differently.
            accounts.reset()

        def get_call_kwargs(self, case):
            return {"headers": accounts.headers("admin")}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CHECKS, headers=kwargs.get("headers"),
                                  transport_kwargs=kwargs)

    Workflow.run(settings=budget(0.5, stateful_step_count=6))

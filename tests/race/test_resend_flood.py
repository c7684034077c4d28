"""Threads and curl against a real gunicorn (2 workers x 8 threads): made-up registration
resends for someone's address, fired without pause, must not crowd the owner out of his own
send budget (tests/test_resend_budget.py holds the same interleaving still, in process).

Before the fix each made-up resend charged the address and gave the charge back a moment later,
after its record check; a flood of them kept the address's window full often enough that the
owner's own resend, sent in the middle, was answered 429 in most rounds, while every one of the
attacker's requests answered 400 (never a limit answer, so never counted towards a block).
"""

import threading

import pytest

from .harness import Client, report, tally

pytestmark = pytest.mark.slow

ROUNDS = 6
FLOODERS = 14


@pytest.fixture(scope="module")
def server(start_gunicorn):
    # two sends per address: the owner's start and his resend, so one charge held by someone
    # else is enough to refuse the resend
    return start_gunicorn(SEND_LIMIT_PER_EMAIL="2 per 5 minutes")


def test_a_flood_of_made_up_resends_leaves_the_owner_his_budget(server, state, client_for):
    owner = client_for(server)
    refused, attacker = [], []
    for round_ in range(ROUNDS):
        email = f"owner{round_}@example.com"
        started = owner.post("/registrations", {"email": email, "username": f"owner{round_}",
                                                "password": "violet harbour lantern 7", **owner.captcha()})
        assert started.status == 202, started
        stop, warm = threading.Event(), threading.Barrier(FLOODERS + 1)

        def flood(i, email=email, stop=stop, warm=warm):
            client = Client(server.url)
            warm.wait()
            while not stop.is_set():
                attacker.append(client.post("/registrations/resend", {
                    "email": email, "registration_id": f"made-up-{i}"}))
            client.close()

        threads = [threading.Thread(target=flood, args=(i,), daemon=True) for i in range(FLOODERS)]
        for thread in threads:
            thread.start()
        warm.wait()
        stop.wait(0.3)  # the flood is running
        resent = owner.post("/registrations/resend", {"email": email,
                                                      "registration_id": started.body["registration_id"]})
        stop.set()
        for thread in threads:
            thread.join(30)
        if resent.status != 202:
            refused.append(resent.label)
    counts = tally(attacker)
    message = report("made-up resends", counts, owner_refused=refused)
    assert set(counts) == {"400 code_expired"}, message  # no charge, no limit answer
    assert refused == [], message

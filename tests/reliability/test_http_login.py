"""Login brute force over real HTTP, behind one trusted proxy (NUM_PROXIES=1): the attacker
rotates client addresses and writes whatever X-Forwarded-For it likes; the proxy appends the
address it saw, the only part the server may believe. Meanwhile the real owner logs in.

Lock-out is per client address and per (account, address): each attacking address is locked after
its fifth failure whatever it claims to be, the owner keeps getting in from their own address, and
the counters in PostgreSQL sit on the real addresses only.
"""

from __future__ import annotations

from collections import Counter

import pytest
import requests
from axes.models import AccessAttempt

from bench.harness import gunicorn
from tests.factories import UserFactory
from tests.utils import child_env

ATTACKERS = [f"203.0.113.{n}" for n in range(1, 11)]
GUESSES_PER_ADDRESS = 8
FAILURE_LIMIT = 5
OWNER_ADDRESS = "192.0.2.10"
PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="module")
def behind_one_proxy(django_db_setup, django_db_blocker):
    env = child_env(
        NUM_PROXIES="1",
        AXES_ENABLED="1",
        AXES_FAILURE_LIMIT=str(FAILURE_LIMIT),
        THROTTLE_USER="1000000/minute",
        THROTTLE_ANON="1000000/minute",
        LOG_LEVEL="ERROR",
    )
    with django_db_blocker.unblock(), gunicorn(env, workers=2) as base:
        yield base


def _login(base: str, email: str, password: str, client: str, spoofed: str = "") -> dict:
    # What the trusted proxy forwards: whatever the client wrote, then the address it saw.
    forwarded = f"{spoofed}, {client}" if spoofed else client
    response = requests.post(
        f"{base}/api/auth/token/",
        json={"email": email, "password": password},
        headers={"X-Forwarded-For": forwarded},
        timeout=30,
    )
    return {"status": response.status_code, **response.json()}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_brute_force_from_rotating_addresses_while_the_owner_logs_in(behind_one_proxy):
    base = behind_one_proxy
    owner = UserFactory(email="owner@example.test")
    bystander = UserFactory(email="bystander@example.test")
    attacker_codes: Counter[str] = Counter()
    owner_statuses: Counter[int] = Counter()

    for guess in range(GUESSES_PER_ADDRESS):
        for index, address in enumerate(ATTACKERS):
            # Every other guess claims a fresh address in front: it must not reset anything.
            spoofed = f"198.18.{guess}.{index}" if guess % 2 else ""
            answer = _login(base, owner.email, f"guess-{guess}", address, spoofed)
            attacker_codes[answer["code"]] += 1
        owner_statuses[_login(base, owner.email, PASSWORD, OWNER_ADDRESS)["status"]] += 1

    locked_address = _login(base, bystander.email, PASSWORD, ATTACKERS[0], "192.0.2.77")
    owner_elsewhere = _login(base, owner.email, PASSWORD, "192.0.2.99")
    attempts = {attempt.ip_address: attempt for attempt in AccessAttempt.objects.all()}

    answered = FAILURE_LIMIT - 1
    assert attacker_codes == Counter(
        {
            "login_failed": answered * len(ATTACKERS),
            "login_locked": (GUESSES_PER_ADDRESS - answered) * len(ATTACKERS),
        }
    )
    assert owner_statuses == Counter({200: GUESSES_PER_ADDRESS})
    assert locked_address["code"] == "login_locked"
    assert owner_elsewhere["status"] == 200
    assert set(attempts) == set(ATTACKERS)
    assert all(attempts[address].failures_since_start >= FAILURE_LIMIT for address in ATTACKERS)
    print(
        f"\nRELIABILITY | login brute force over HTTP (1 trusted proxy, spoofed X-Forwarded-For) "
        f"| {len(ATTACKERS)} addresses x {GUESSES_PER_ADDRESS} guesses: "
        f"{attacker_codes['login_failed']} answered, {attacker_codes['login_locked']} locked; "
        f"owner {owner_statuses[200]}/{GUESSES_PER_ADDRESS} signed in; locked address refused "
        f"for another account; counters on {len(attempts)} real addresses, 0 on spoofed ones"
    )

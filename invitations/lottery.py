"""The lottery: a seeded, replayable ranking ("hmac-sha256-rank/1").

Winners of a round are the requests with the smallest HMAC-SHA256(round seed, request id), where
the round seed is HMAC-SHA256(drop seed, "round-N"). That is uniform over the eligible requests,
independent of when or in which order they came (the ids are only names), and anyone who has the
seed and the list of eligible request ids can recompute it: the seed's sha256 is published when the
drop is announced, the seed itself after the first draw (commit-reveal).

Draws are uniform on purpose, with no per-drop weighting: weighting by history would favour exactly
what a bot farm can buy (aged accounts) and disadvantage genuinely new customers.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import secrets
from collections.abc import Iterable


def new_seed() -> str:
    return secrets.token_hex(32)


def seed_hash(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()


def round_seed(seed: str, round_number: int) -> bytes:
    """Each round has its own seed derived from the committed one: later rounds stay verifiable."""
    return hmac.new(bytes.fromhex(seed), f"round-{round_number}".encode(), hashlib.sha256).digest()


def rank(seed: str, round_number: int, request_id: int) -> bytes:
    return hmac.new(
        round_seed(seed, round_number), str(request_id).encode(), hashlib.sha256
    ).digest()


def draw_winners(
    seed: str, round_number: int, request_ids: Iterable[int], winners: int
) -> list[int]:
    """The ``winners`` request ids with the smallest rank, sorted by id."""
    key = round_seed(seed, round_number)
    ranked = heapq.nsmallest(
        winners,
        request_ids,
        key=lambda request_id: hmac.new(key, str(request_id).encode(), hashlib.sha256).digest(),
    )
    return sorted(ranked)


def winners_needed(units: int, limit_per_customer: int) -> int:
    """Invitations needed to hand out ``units`` when each holds up to ``limit_per_customer``."""
    return -(-units // limit_per_customer)


def quantities(units: int, winners: int, limit_per_customer: int) -> list[int]:
    """Units held per winner, in winner order: the limit each, the last one the remainder."""
    allotted = []
    left = units
    for _ in range(winners):
        allotted.append(min(limit_per_customer, left))
        left -= allotted[-1]
    return allotted

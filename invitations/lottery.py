"""The lottery: a seeded, replayable ranking ("hmac-sha256-rank/1").

Winners of a round are the requests with the smallest HMAC-SHA256(round seed, request id), where
the round seed is HMAC-SHA256(drop seed, "round-N"). That is uniform over the eligible requests,
independent of when or in which order they came (the ids are only names), and anyone who has the
seed and the list of eligible request ids can recompute it: the seed's sha256 is published when the
drop is announced, the seed itself after the first draw (commit-reveal).

The database ranks with the same function: HMAC written out with PostgreSQL's built-in ``sha256()``
(:func:`rank_sql`), so a draw over a million requests is one statement, needs no extension (the
embedded server has no pgcrypto), and the Python code here stays the independent replay.

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


HMAC_BLOCK = 64  # SHA-256's block size: the key is padded to it (RFC 2104)


def rank_sql(column: str) -> str:
    """SQL for :func:`rank` of an integer ``column``, with the round's two padded keys as the
    parameters ``%(outer_key)s`` and ``%(inner_key)s`` (see :func:`rank_sql_keys`).

    HMAC(K, m) = H((K xor opad) || H((K xor ipad) || m)), m the id in decimal as Python writes it;
    bytea compares bytewise like Python's bytes, so ORDER BY gives the same order.
    """
    return f"sha256(%(outer_key)s || sha256(%(inner_key)s || convert_to({column}::text, 'UTF8')))"


def rank_sql_keys(seed: str, round_number: int) -> dict[str, bytes]:
    key = round_seed(seed, round_number).ljust(HMAC_BLOCK, b"\0")
    return {
        "outer_key": bytes(byte ^ 0x5C for byte in key),
        "inner_key": bytes(byte ^ 0x36 for byte in key),
    }


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

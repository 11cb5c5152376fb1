"""The lottery: a seeded, replayable ranking. Winners are the K requests with the smallest
HMAC-SHA256(round seed, request id): uniform over the eligible requests, independent of when or in
which order they came, and recomputable by anyone who has the seed and the request ids."""

from __future__ import annotations

import hashlib
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


def draw_winners(seed: str, round_number: int, request_ids: Iterable[int], units: int) -> list[int]:
    ordered = sorted(request_ids, key=lambda request_id: rank(seed, round_number, request_id))
    return sorted(ordered[:units])

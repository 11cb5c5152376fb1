"""Coupon codes: random from ``secrets``, readable, and forgiving on input."""

from __future__ import annotations

import secrets

from promotions.constants import CODE_ALPHABET, CODE_GROUP, CODE_LENGTH, MAX_CODE_INPUT_LENGTH

# We print V and never U; a customer who reads V as U still gets the right code.
_LOOK_ALIKES = str.maketrans({"U": "V"})
# Hyphen, and the en dash and minus sign that word processors and phones put in its place.
_DASHES = frozenset("-\u2013\u2212")


def code_generate() -> str:
    """A new code in its stored (normalised) form."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def code_display(code: str) -> str:
    return "-".join(code[i : i + CODE_GROUP] for i in range(0, len(code), CODE_GROUP))


def code_normalise(raw: str) -> str | None:
    """Upper-case, without spaces and dashes; None when it cannot be one of our codes."""
    if not isinstance(raw, str) or len(raw) > MAX_CODE_INPUT_LENGTH:
        return None
    cleaned = "".join(raw.split()).upper().translate(_LOOK_ALIKES)
    cleaned = "".join(symbol for symbol in cleaned if symbol not in _DASHES)
    if len(cleaned) != CODE_LENGTH or any(symbol not in CODE_ALPHABET for symbol in cleaned):
        return None
    return cleaned

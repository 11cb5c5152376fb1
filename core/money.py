"""Money: a Decimal amount with an ISO currency. Rounding happens here and nowhere else."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any, TypeVar

K = TypeVar("K")

# ISO 4217 minor units of the currencies the marketplace sells in.
CURRENCY_EXPONENTS: dict[str, int] = {
    "EUR": 2,
    "USD": 2,
    "GBP": 2,
    "CHF": 2,
    "PLN": 2,
    "SEK": 2,
    "JPY": 0,
}
CURRENCY_CHOICES = [(code, code) for code in CURRENCY_EXPONENTS]
DEFAULT_CURRENCY = "EUR"
MAX_DIGITS = 12
DECIMAL_PLACES = 2


class CurrencyMismatch(ValueError):
    """Two amounts in different currencies were combined."""


def quantize(amount: Decimal, currency: str, *, rounding: str = ROUND_HALF_UP) -> Decimal:
    """Round to the currency's minor unit; the one rounding point of the whole project."""
    exponent = CURRENCY_EXPONENTS[currency]
    return amount.quantize(Decimal(1).scaleb(-exponent), rounding=rounding)


def allocate(amount: Decimal, weights: Mapping[K, Decimal], currency: str) -> dict[K, Decimal]:
    """Split ``amount`` (whole minor units) over the keys in proportion to their weights.

    Each share is rounded down to the minor unit and the units left go one each to the largest
    remainders (then the larger weight, then the earlier key): the shares add up to the amount
    exactly and none is negative. When the amount is at most the total of weights that are whole
    minor units themselves, no share exceeds its weight. (Rounding each share to nearest and
    putting the difference on one line can leave that line negative.)
    """
    total = sum(weights.values(), Decimal(0))
    if total <= 0 or amount <= 0:
        return {}
    unit = Decimal(1).scaleb(-CURRENCY_EXPONENTS[currency])
    exact = {key: amount * weight / total for key, weight in weights.items()}
    shares = {key: quantize(value, currency, rounding=ROUND_DOWN) for key, value in exact.items()}
    left = int((amount - sum(shares.values(), Decimal(0))) / unit)
    ranked = sorted(weights, key=lambda key: (shares[key] - exact[key], -weights[key]))
    for key in ranked[:left]:
        shares[key] += unit
    return shares


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in one currency."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            raise TypeError("Money needs a Decimal amount, never a float")
        if self.currency not in CURRENCY_EXPONENTS:
            raise ValueError(f"unknown currency {self.currency!r}")

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(Decimal(0), currency)

    def _check(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(f"{self.currency} and {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.amount - other.amount, self.currency)

    def __mul__(self, factor: int | Decimal) -> Money:
        return Money(self.amount * Decimal(factor), self.currency)

    def __lt__(self, other: Money) -> bool:
        self._check(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._check(other)
        return self.amount <= other.amount

    def rounded(self) -> Money:
        return Money(quantize(self.amount, self.currency), self.currency)

    def as_json(self) -> dict[str, Any]:
        """Decimal string plus currency, the API's money shape."""
        return {"amount": str(quantize(self.amount, self.currency)), "currency": self.currency}

    def __str__(self) -> str:
        return f"{quantize(self.amount, self.currency)} {self.currency}"

"""Money: a Decimal amount with an ISO currency. Rounding happens here and nowhere else."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import Any

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


def quantize_bankers(amount: Decimal, currency: str) -> Decimal:
    """Round half to even: for sums of many small shares (discount allocation)."""
    return quantize(amount, currency, rounding=ROUND_HALF_EVEN)


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

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import clock
from core.money import CurrencyMismatch, Money, quantize


def test_quantize_rounds_half_up_to_the_minor_unit():
    assert quantize(Decimal("2.345"), "EUR") == Decimal("2.35")
    assert quantize(Decimal("2.344"), "EUR") == Decimal("2.34")
    assert quantize(Decimal("199.5"), "JPY") == Decimal("200")


def test_money_refuses_floats_and_mixed_currencies():
    with pytest.raises(TypeError):
        Money(1.5, "EUR")  # type: ignore[arg-type]
    with pytest.raises(CurrencyMismatch):
        Money(Decimal(1), "EUR") + Money(Decimal(1), "USD")
    assert Money(Decimal("1.005"), "EUR").as_json() == {"amount": "1.01", "currency": "EUR"}


@given(st.decimals(min_value=0, max_value=10**8, places=4), st.sampled_from(["EUR", "JPY"]))
def test_quantize_moves_an_amount_by_at_most_half_a_minor_unit(amount, currency):
    unit = Decimal(1) if currency == "JPY" else Decimal("0.01")
    assert abs(quantize(amount, currency) - amount) <= unit / 2


def test_business_days_skip_weekends_and_german_holidays():
    friday = date(2026, 12, 18)
    assert clock.add_business_days(friday, 1, "DE") == date(2026, 12, 21)
    # 24 Dec (Thu) is a working day; 25 and 26 Dec are holidays, then a weekend.
    assert clock.add_business_days(date(2026, 12, 23), 2, "DE") == date(2026, 12, 28)
    # Good Friday and Easter Monday 2027: 26 and 29 March.
    assert clock.add_business_days(date(2027, 3, 25), 1, "DE") == date(2027, 3, 30)
    assert clock.add_business_days(date(2026, 12, 19), 0, "DE") == date(2026, 12, 21)
    assert clock.business_days_between(date(2026, 12, 23), date(2026, 12, 28), "DE") == 2
    assert clock.business_days_between(date(2026, 12, 28), date(2026, 12, 23), "DE") == -2


@given(st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 1, 1)), st.integers(0, 40))
def test_adding_business_days_lands_on_a_business_day_that_many_days_later(start, days):
    end = clock.add_business_days(start, days, "DE")
    assert clock.is_business_day(end, "DE")
    first = clock.add_business_days(start, 0, "DE")
    assert clock.business_days_between(first, end, "DE") == days

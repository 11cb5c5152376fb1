"""The coupon rules as pure functions: property tests without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marketplace.models import Category, Offer, Product
from promotions import errors
from promotions.choices import DiscountType
from promotions.discounts import coupon_evaluate, discount_allocate, discount_amount
from promotions.models import Campaign, Coupon, CouponHolder

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
money = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(5000), places=2)


def _holder(campaign: Campaign) -> CouponHolder:
    coupon = Coupon(pk=1, campaign=campaign, code="ABCDEFGHJKMNPQRSTVWX")
    return CouponHolder(pk=1, coupon=coupon, customer_id=1, uses=0, max_uses=1)


def _offer(pk: int, price: Decimal, path: str, currency: str = "EUR") -> Offer:
    category = Category(pk=pk, slug=path.rsplit("/", 1)[-1], path=path)
    return Offer(pk=pk, price=price, currency=currency, product=Product(pk=pk, category=category))


campaigns = st.one_of(
    st.builds(
        lambda percent, cap: Campaign(
            pk=1,
            discount_type=DiscountType.PERCENT,
            percent=percent,
            max_discount=cap,
            currency="EUR",
            min_order_value=Decimal(0),
            starts_at=NOW - timedelta(days=1),
            ends_at=NOW + timedelta(days=1),
            is_active=True,
            budget_spent=Decimal(0),
        ),
        st.decimals(min_value=Decimal("0.01"), max_value=Decimal(100), places=2),
        st.none() | money,
    ),
    st.builds(
        lambda amount, budget: Campaign(
            pk=1,
            discount_type=DiscountType.FIXED,
            fixed_amount=amount,
            budget=budget,
            currency="EUR",
            min_order_value=Decimal(0),
            starts_at=NOW - timedelta(days=1),
            ends_at=NOW + timedelta(days=1),
            is_active=True,
            budget_spent=Decimal(0),
        ),
        money,
        st.none() | money,
    ),
)
carts = st.lists(
    st.tuples(
        money,
        st.integers(min_value=1, max_value=5),
        st.sampled_from(["toys", "toys/lego", "books"]),
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=400, deadline=None)
@given(campaigns, carts)
def test_a_discount_never_exceeds_the_eligible_subtotal_and_its_shares_add_up(campaign, cart):
    lines = [
        (_offer(index + 1, price, path), quantity)
        for index, (price, quantity, path) in enumerate(cart)
    ]
    eligible_total = sum(price * quantity for price, quantity, path in cart if path != "books")
    quote = (
        coupon_evaluate(_holder(campaign), lines, category_paths=["toys"], now=NOW)
        if (eligible_total)
        else None
    )
    if quote is None:
        return
    assert Decimal(0) <= quote.discount <= eligible_total
    assert quote.discount == quote.discount.quantize(Decimal("0.01"))
    assert sum(quote.line_discounts.values(), Decimal(0)) == quote.discount
    for index, (price, quantity, path) in enumerate(cart):
        share = quote.line_discounts.get(index + 1, Decimal(0))
        assert Decimal(0) <= share <= price * quantity
        assert path != "books" or share == 0
    if campaign.max_discount is not None:
        assert quote.discount <= campaign.max_discount
    if campaign.budget is not None:
        assert quote.discount <= campaign.budget


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(list(DiscountType)),
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal(100), places=2),
    st.none() | money,
    money,
    st.decimals(min_value=Decimal(0), max_value=Decimal(10000), places=2),
    st.none() | money,
)
def test_discount_amount_is_bounded_by_subtotal_cap_and_budget(
    kind, percent, cap, fixed, subtotal, budget
):
    amount = discount_amount(
        discount_type=kind,
        percent=percent,
        max_discount=cap,
        fixed_amount=fixed,
        eligible_total=subtotal,
        remaining_budget=budget,
        currency="EUR",
    )
    assert Decimal(0) <= amount <= subtotal
    assert cap is None or kind == DiscountType.FIXED or amount <= cap
    assert budget is None or amount <= budget


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.decimals(min_value=Decimal("0.01"), max_value=Decimal(5000), places=2),
        min_size=1,
        max_size=6,
    ),
    st.decimals(min_value=Decimal(0), max_value=Decimal(10000), places=2),
)
def test_discount_shares_always_add_up_and_never_exceed_a_line(values, discount):
    _shares_add_up_within_their_lines(values, discount)


def test_a_small_discount_over_many_lines_leaves_no_line_negative():
    # Rounded to nearest, each of five shares of 0.006 became 0.01: 0.05 for a discount of 0.03,
    # and the line that took the difference was left at -0.01 (found by the property above).
    _shares_add_up_within_their_lines([Decimal("1.00")] * 5, Decimal("0.03"))
    shares = discount_allocate(Decimal("0.03"), dict.fromkeys(range(1, 6), Decimal(1)), "EUR")
    assert shares == {1: Decimal("0.01"), 2: Decimal("0.01"), 3: Decimal("0.01")}


def _shares_add_up_within_their_lines(values, discount):
    eligible = {index + 1: value for index, value in enumerate(values)}
    total = min(discount, sum(eligible.values()))
    shares = discount_allocate(total, eligible, "EUR")
    assert sum(shares.values(), Decimal(0)) == total
    assert all(Decimal(0) <= shares[key] <= eligible[key] for key in shares)


def test_percent_rounds_half_up_once_and_the_cents_left_go_to_the_largest_remainders():
    campaign = Campaign(
        pk=1,
        discount_type=DiscountType.PERCENT,
        percent=Decimal(15),
        currency="EUR",
        min_order_value=Decimal(0),
        starts_at=NOW - timedelta(days=1),
        ends_at=NOW + timedelta(days=1),
        is_active=True,
        budget_spent=Decimal(0),
    )
    lines = [(_offer(1, Decimal("0.10"), "toys"), 1), (_offer(2, Decimal("0.20"), "toys"), 1)]
    quote = coupon_evaluate(_holder(campaign), lines, category_paths=[], now=NOW)
    # 15 % of 0.30 is 0.045: rounded half up once, to 0.05; shares 0.0167 and 0.0333 round down
    # to 0.01 and 0.03, and the cent left goes to the larger remainder (0.0067, line 1).
    assert quote.discount == Decimal("0.05")
    assert quote.line_discounts == {1: Decimal("0.02"), 2: Decimal("0.03")}


def test_lines_in_another_currency_are_neither_eligible_nor_counted_for_the_minimum():
    campaign = Campaign(
        pk=1,
        discount_type=DiscountType.FIXED,
        fixed_amount=Decimal(5),
        currency="EUR",
        min_order_value=Decimal(20),
        starts_at=NOW - timedelta(days=1),
        ends_at=NOW + timedelta(days=1),
        is_active=True,
        budget_spent=Decimal(0),
    )
    lines = [
        (_offer(1, Decimal("15.00"), "toys"), 1),
        (_offer(2, Decimal("100.00"), "toys", currency="CHF"), 1),
    ]
    with pytest.raises(errors.CouponMinOrderNotMet) as refused:
        coupon_evaluate(_holder(campaign), lines, category_paths=[], now=NOW)
    assert refused.value.extra == {"missing": {"amount": "5.00", "currency": "EUR"}}

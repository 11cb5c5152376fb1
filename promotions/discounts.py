"""The rules of a coupon as pure functions: no database, no clock, no writes.

Checkout, the cart quote, the validate endpoint and the wallet all answer through
:func:`coupon_evaluate`, so a code that the wallet says applies is the code checkout accepts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from core.money import allocate, quantize
from marketplace.models import Offer
from promotions import errors
from promotions.choices import CouponState, DiscountType
from promotions.models import Campaign, CouponHolder


@dataclass
class CouponQuote:
    """What a code would take off a cart: per offer, rounded, summing to the total exactly."""

    coupon_id: int
    holder_id: int
    campaign_id: int
    code: str
    currency: str
    discount: Decimal
    line_discounts: dict[int, Decimal] = field(default_factory=dict)


def coupon_state(holder: CouponHolder, *, now: datetime) -> CouponState:
    """The state the wallet shows, in the order checkout checks the same rules."""
    campaign = holder.coupon.campaign
    if not campaign.is_active:
        return CouponState.PAUSED
    if now < campaign.starts_at:
        return CouponState.NOT_STARTED
    if now >= campaign.ends_at:
        return CouponState.EXPIRED
    if holder.uses >= holder.max_uses:
        return CouponState.USED
    if campaign.budget is not None and campaign.budget_spent >= campaign.budget:
        return CouponState.BUDGET_EXHAUSTED
    return CouponState.USABLE


def is_eligible(campaign: Campaign, offer: Offer, category_paths: Sequence[str]) -> bool:
    """In the campaign's currency and, when categories are named, in one of them or below."""
    if offer.currency != campaign.currency:
        return False
    if not category_paths:
        return True
    path = offer.product.category.path
    return any(path == root or path.startswith(f"{root}/") for root in category_paths)


def discount_amount(
    *,
    discount_type: str,
    percent: Decimal | None,
    max_discount: Decimal | None,
    fixed_amount: Decimal | None,
    eligible_total: Decimal,
    remaining_budget: Decimal | None,
    currency: str,
) -> Decimal:
    """The discount on an eligible subtotal: never more than that subtotal, the cap or the budget
    left, never negative, rounded once to the currency's minor unit."""
    if discount_type == DiscountType.PERCENT:
        discount = quantize(eligible_total * (percent or Decimal(0)) / 100, currency)
        if max_discount is not None:
            discount = min(discount, max_discount)
    else:
        discount = fixed_amount or Decimal(0)
    if remaining_budget is not None:
        discount = min(discount, remaining_budget)
    return max(Decimal(0), min(discount, eligible_total))


def discount_allocate(
    discount: Decimal, eligible: dict[int, Decimal], currency: str
) -> dict[int, Decimal]:
    """Split the discount over the eligible lines in proportion to their value, to the cent
    (core.money.allocate); lines whose share is nothing are left out."""
    shares = allocate(discount, eligible, currency)
    return {offer_id: share for offer_id, share in shares.items() if share}


def coupon_evaluate(
    holder: CouponHolder,
    lines: Sequence[tuple[Offer, int]],
    *,
    category_paths: Sequence[str],
    now: datetime,
) -> CouponQuote:
    """Check a customer's code against a cart, in a fixed order; raise the first rule that fails.

    Offers must come with ``product__category`` loaded; ``category_paths`` are the paths of the
    campaign's eligible categories (empty: every category).
    """
    coupon = holder.coupon
    campaign = coupon.campaign
    if not campaign.is_active:
        raise errors.CampaignPaused()
    if now < campaign.starts_at:
        raise errors.CouponNotStarted(extra={"starts_at": campaign.starts_at.isoformat()})
    if now >= campaign.ends_at:
        raise errors.CouponExpired(extra={"ended_at": campaign.ends_at.isoformat()})
    if holder.uses >= holder.max_uses:
        raise errors.CouponUsedUp()
    remaining_budget = None
    if campaign.budget is not None:
        remaining_budget = campaign.budget - campaign.budget_spent
        if remaining_budget <= 0:
            raise errors.CouponBudgetExhausted()

    currency = campaign.currency
    order_value = sum(
        (
            quantize(offer.price * quantity, currency)
            for offer, quantity in lines
            if offer.currency == currency
        ),
        Decimal(0),
    )
    if order_value < campaign.min_order_value:
        missing = quantize(campaign.min_order_value - order_value, currency)
        raise errors.CouponMinOrderNotMet(
            extra={"missing": {"amount": str(missing), "currency": currency}}
        )
    eligible: dict[int, Decimal] = {}
    for offer, quantity in lines:
        if is_eligible(campaign, offer, category_paths):
            eligible[offer.pk] = eligible.get(offer.pk, Decimal(0)) + quantize(
                offer.price * quantity, currency
            )
    eligible_total = sum(eligible.values(), Decimal(0))
    if eligible_total <= 0:
        raise errors.CouponCategoryNotEligible()
    discount = discount_amount(
        discount_type=campaign.discount_type,
        percent=campaign.percent,
        max_discount=campaign.max_discount,
        fixed_amount=campaign.fixed_amount,
        eligible_total=eligible_total,
        remaining_budget=remaining_budget,
        currency=currency,
    )
    return CouponQuote(
        coupon_id=coupon.pk,
        holder_id=holder.pk,
        campaign_id=campaign.pk,
        code=coupon.display_code,
        currency=currency,
        discount=discount,
        line_discounts=discount_allocate(discount, eligible, currency),
    )

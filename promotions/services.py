"""Every write of promotions: issuing codes, quoting a discount, redeeming it, giving a use back."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q

from core import clock, outbox
from core.email import email_queue
from core.money import quantize, quantize_bankers
from marketplace.models import Offer, Order, User
from promotions import errors
from promotions.choices import DiscountType, IssueMode, IssueStatus
from promotions.codes import code_generate, code_normalise
from promotions.constants import ISSUE_BATCH_SIZE, MAX_CODE_FAILURES_PER_HOUR
from promotions.models import (
    Campaign,
    CodeFailures,
    Coupon,
    CouponHolder,
    CouponMisuse,
    IssueRun,
    Redemption,
)
from promotions.selectors import segment_customers

CODE_ATTEMPTS = 5  # a collision at 98 bits is practically impossible; retrying costs nothing


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


# --- Issuing ----------------------------------------------------------------------------


def _new_coupon(campaign: Campaign, customer: User | None) -> Coupon:
    for _attempt in range(CODE_ATTEMPTS):
        try:
            with transaction.atomic():
                return Coupon.objects.create(
                    campaign=campaign, customer=customer, code=code_generate()
                )
        except IntegrityError:
            if customer is not None:
                existing = Coupon.objects.filter(campaign=campaign, customer=customer).first()
                if existing is not None:
                    return existing
    raise RuntimeError("could not draw a unique coupon code")


def _announce(coupon: Coupon, customer: User) -> None:
    campaign = coupon.campaign
    CouponHolder.objects.filter(coupon=coupon, customer=customer).update(emailed_at=clock.now())
    email_queue(
        to=customer.email,
        template="coupon_issued",
        context={"campaign": campaign, "code": coupon.display_code, "customer": customer},
        language=customer.language,
    )


def coupon_issue_personal(campaign: Campaign, *, customer: User) -> Coupon:
    """One personal code for one customer; issuing twice returns the first code."""
    with transaction.atomic():
        existing = Coupon.objects.filter(campaign=campaign, customer=customer).first()
        if existing is not None:
            return existing
        coupon = _new_coupon(campaign, customer)
        _, created = CouponHolder.objects.get_or_create(
            coupon=coupon, customer=customer, defaults={"max_uses": campaign.uses_per_code}
        )
        if created:
            _announce(coupon, customer)
    return coupon


def issue_run_start(run: IssueRun) -> IssueRun:
    """Queue a run; the Celery task does the work in batches after the commit."""
    from promotions.tasks import issue_run_execute_task

    transaction.on_commit(lambda: issue_run_execute_task.delay(run.pk))
    return run


def issue_run_execute(
    run_id: int, *, now: datetime | None = None, batch_size: int = ISSUE_BATCH_SIZE
) -> IssueRun | None:
    """Issue codes to every customer of the segment. Idempotent: a re-run (after a crash, or twice)
    issues nothing twice and mails nobody twice, because the unique (campaign, customer) and
    (coupon, customer) constraints decide what is new."""
    now = now or clock.now()
    with transaction.atomic():
        run = IssueRun.objects.select_for_update(skip_locked=True).filter(pk=run_id).first()
        if run is None or run.status == IssueStatus.DONE:
            return run
        customer_ids = list(segment_customers(run, now=now).values_list("pk", flat=True))
        run.status = IssueStatus.RUNNING
        run.total = len(customer_ids)
        run.started_at = run.started_at or now
        run.save(update_fields=["status", "total", "started_at", "updated_at"])
    campaign = run.campaign
    group_coupon = None
    if run.mode == IssueMode.SHARED:
        group_coupon = Coupon.objects.filter(campaign=campaign, customer__isnull=True).order_by(
            "pk"
        ).first() or _new_coupon(campaign, None)
    for start in range(0, len(customer_ids), batch_size):
        batch = customer_ids[start : start + batch_size]
        with transaction.atomic():
            issued, had = _issue_batch(campaign, batch, group_coupon)
            IssueRun.objects.filter(pk=run.pk).update(
                issued=F("issued") + issued, already_had=F("already_had") + had
            )
    IssueRun.objects.filter(pk=run.pk).update(status=IssueStatus.DONE, finished_at=clock.now())
    run.refresh_from_db()
    return run


def _issue_batch(
    campaign: Campaign, batch: list[int], group_coupon: Coupon | None
) -> tuple[int, int]:
    customers = {user.pk: user for user in User.objects.filter(pk__in=batch)}
    if group_coupon is not None:
        holders = set(
            CouponHolder.objects.filter(coupon=group_coupon, customer_id__in=batch).values_list(
                "customer_id", flat=True
            )
        )
        new_ids = [pk for pk in batch if pk not in holders and pk in customers]
        CouponHolder.objects.bulk_create(
            [CouponHolder(coupon=group_coupon, customer_id=pk, max_uses=1) for pk in new_ids],
            ignore_conflicts=True,
        )
        for pk in new_ids:
            _announce(group_coupon, customers[pk])
        return len(new_ids), len(batch) - len(new_ids)
    have = set(
        Coupon.objects.filter(campaign=campaign, customer_id__in=batch).values_list(
            "customer_id", flat=True
        )
    )
    new_ids = [pk for pk in batch if pk not in have and pk in customers]
    for pk in new_ids:
        coupon = _new_coupon(campaign, customers[pk])
        CouponHolder.objects.get_or_create(
            coupon=coupon, customer=customers[pk], defaults={"max_uses": campaign.uses_per_code}
        )
        _announce(coupon, customers[pk])
    return len(new_ids), len(batch) - len(new_ids)


# --- Quoting ----------------------------------------------------------------------------


def _eligible(campaign: Campaign, offer: Offer, category_paths: list[str]) -> bool:
    if offer.currency != campaign.currency:
        return False
    if not category_paths:
        return True
    path = offer.product.category.path
    return any(path == root or path.startswith(f"{root}/") for root in category_paths)


def coupon_quote(
    customer: User,
    *,
    code: str,
    lines: Sequence[tuple[Offer, int]],
    now: datetime | None = None,
) -> CouponQuote:
    """Check a code for this customer and cart, in a fixed order, and compute its discount.

    Offers must come with ``product__category`` loaded. Raises the first rule that fails.
    """
    now = now or clock.now()
    hour = now.replace(minute=0, second=0, microsecond=0)
    if CodeFailures.objects.filter(
        customer=customer, hour=hour, failures__gte=MAX_CODE_FAILURES_PER_HOUR
    ).exists():
        raise errors.CouponAttemptsExceeded()
    normalised = code_normalise(code)
    holder = None
    if normalised is not None:
        holder = (
            CouponHolder.objects.select_related("coupon__campaign")
            .filter(coupon__code=normalised, customer=customer)
            .first()
        )
    if holder is None:
        _record_failure(customer, normalised, hour=hour, now=now)
        raise errors.CouponInvalid()
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
        missing = campaign.min_order_value - order_value
        raise errors.CouponMinOrderNotMet(
            extra={"missing": {"amount": str(quantize(missing, currency)), "currency": currency}}
        )
    paths = list(campaign.eligible_categories.values_list("path", flat=True))
    eligible = {
        offer.pk: quantize(offer.price * quantity, currency)
        for offer, quantity in lines
        if _eligible(campaign, offer, paths)
    }
    eligible_total = sum(eligible.values(), Decimal(0))
    if eligible_total <= 0:
        raise errors.CouponCategoryNotEligible()

    if campaign.discount_type == DiscountType.PERCENT:
        discount = quantize(eligible_total * (campaign.percent or Decimal(0)) / 100, currency)
        if campaign.max_discount is not None:
            discount = min(discount, campaign.max_discount)
    else:
        discount = campaign.fixed_amount or Decimal(0)
    if remaining_budget is not None:
        discount = min(discount, remaining_budget)
    discount = min(discount, eligible_total)  # never makes a total negative
    if holder.applied_at is None:
        CouponHolder.objects.filter(pk=holder.pk, applied_at__isnull=True).update(applied_at=now)
    return CouponQuote(
        coupon_id=coupon.pk,
        holder_id=holder.pk,
        campaign_id=campaign.pk,
        code=coupon.display_code,
        currency=currency,
        discount=discount,
        line_discounts=_allocate(discount, eligible, currency),
    )


def _record_failure(
    customer: User, normalised: str | None, *, hour: datetime, now: datetime
) -> None:
    """Count a failed entry for the account, and flag a code that belongs to someone else."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO promotions_codefailures (customer_id, hour, failures) VALUES (%s, %s, 1)"
            " ON CONFLICT (customer_id, hour) DO UPDATE"
            " SET failures = promotions_codefailures.failures + 1",
            [customer.pk, hour],
        )
        if normalised is not None:
            coupon = Coupon.objects.filter(code=normalised).only("pk").first()
            if coupon is not None:
                CouponMisuse.objects.create(coupon=coupon, customer=customer, attempted_at=now)


def _allocate(discount: Decimal, eligible: dict[int, Decimal], currency: str) -> dict[int, Decimal]:
    """Split the discount over the eligible lines in proportion to their value; the rounding rest
    goes to the largest line, so the shares add up to the discount to the cent."""
    total = sum(eligible.values(), Decimal(0))
    shares = {
        offer_id: min(value, quantize_bankers(discount * value / total, currency))
        for offer_id, value in eligible.items()
    }
    rest = discount - sum(shares.values(), Decimal(0))
    largest = max(eligible, key=lambda offer_id: (eligible[offer_id], -offer_id))
    shares[largest] += rest
    return {offer_id: share for offer_id, share in shares.items() if share}


# --- Redemption ----------------------------------------------------------------------------


def coupon_redeem(
    quote: CouponQuote,
    *,
    customer: User,
    orders: Sequence[Order],
    checkout_reference: uuid.UUID,
    now: datetime,
) -> None:
    """Inside the checkout transaction: take one use and the budget with guarded updates, and write
    one redemption row per discounted order. A lost race raises and rolls the checkout back."""
    taken = CouponHolder.objects.filter(
        pk=quote.holder_id, customer=customer, uses__lt=F("max_uses")
    ).update(uses=F("uses") + 1)
    if taken != 1:
        raise errors.CouponUsedUp()
    spent = (
        Campaign.objects.filter(pk=quote.campaign_id, is_active=True)
        .filter(Q(budget__isnull=True) | Q(budget__gte=F("budget_spent") + quote.discount))
        .update(budget_spent=F("budget_spent") + quote.discount)
    )
    if spent != 1:
        if not Campaign.objects.filter(pk=quote.campaign_id, is_active=True).exists():
            raise errors.CampaignPaused()
        raise errors.CouponBudgetExhausted()
    rows = [
        Redemption(
            coupon_id=quote.coupon_id,
            holder_id=quote.holder_id,
            order=order,
            checkout_reference=checkout_reference,
            discount=order.discount_total,
            currency=order.currency,
            order_total=order.total,
            redeemed_at=now,
        )
        for order in orders
        if order.discount_total > 0
    ]
    Redemption.objects.bulk_create(rows)
    outbox.emit(
        "coupon.redeemed",
        {
            "coupon_id": quote.coupon_id,
            "customer_id": customer.pk,
            "checkout_reference": str(checkout_reference),
            "order_ids": [row.order_id for row in rows],
            "discount": str(quote.discount),
            "currency": quote.currency,
        },
    )


def redemption_reverse_for_order(order_id: int, *, now: datetime | None = None) -> bool:
    """An order cancelled before shipment gives its discount back to the budget; when every order of
    that checkout is cancelled, the use comes back too. Idempotent (``reversed_at``)."""
    now = now or clock.now()
    with transaction.atomic():
        redemption = (
            Redemption.objects.select_for_update()
            .filter(order_id=order_id, reversed_at__isnull=True)
            .first()
        )
        if redemption is None:
            return False
        redemption.reversed_at = now
        redemption.save(update_fields=["reversed_at"])
        Campaign.objects.filter(pk=redemption.coupon.campaign_id).update(
            budget_spent=F("budget_spent") - redemption.discount
        )
        still_standing = Redemption.objects.filter(
            checkout_reference=redemption.checkout_reference,
            coupon_id=redemption.coupon_id,
            reversed_at__isnull=True,
        ).exists()
        if not still_standing:
            CouponHolder.objects.filter(pk=redemption.holder_id, uses__gt=0).update(
                uses=F("uses") - 1
            )
        outbox.emit(
            "coupon.redemption_reversed",
            {
                "coupon_id": redemption.coupon_id,
                "order_id": order_id,
                "use_returned": not still_standing,
            },
        )
    return True

"""Every write of promotions: issuing codes, quoting a discount, redeeming it, giving a use back,
pausing a campaign."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.db.models import F

from core import clock, outbox
from core.email import email_queue
from marketplace.models import Offer, Order, User
from promotions import errors
from promotions.choices import IssueMode, IssueStatus, Segment
from promotions.codes import code_generate, code_normalise
from promotions.constants import ISSUE_BATCH_SIZE, MAX_CODE_FAILURES_PER_HOUR
from promotions.discounts import CouponQuote, coupon_evaluate
from promotions.models import (
    Campaign,
    Coupon,
    CouponHolder,
    CouponMisuse,
    IssueRun,
    Redemption,
)
from promotions.selectors import CodeLookup, holder_for_code, segment_customers

__all__ = ["CouponQuote"]  # checkout types its quote through this module

CODE_ATTEMPTS = 5  # a collision at 98 bits is practically impossible; retrying costs nothing


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


def _announce_pending(campaign: Campaign, customer_ids: Sequence[int], *, now: datetime) -> int:
    """E-mail every holder of these customers who has not had their mail yet; returns how many.

    The row locks and ``emailed_at IS NULL`` make this once per holder even when two runs of the
    same campaign overlap: the second waits for the first, then finds nothing left to send.
    """
    pending = list(
        CouponHolder.objects.select_for_update(of=("self",))
        .filter(coupon__campaign=campaign, customer_id__in=customer_ids, emailed_at__isnull=True)
        .select_related("coupon", "customer")
        .order_by("pk")
    )
    if not pending:
        return 0
    CouponHolder.objects.filter(pk__in=[holder.pk for holder in pending]).update(emailed_at=now)
    for holder in pending:
        email_queue(
            to=holder.customer.email,
            template="coupon_issued",
            context={
                "campaign": campaign,
                "code": holder.coupon.display_code,
                "customer": holder.customer,
            },
            language=holder.customer.language,
        )
    return len(pending)


def coupon_issue_personal(
    campaign: Campaign, *, customer: User, now: datetime | None = None
) -> Coupon:
    """One personal code for one customer, e-mailed once; issuing twice returns the first code."""
    now = now or clock.now()
    with transaction.atomic():
        coupon = Coupon.objects.filter(campaign=campaign, customer=customer).first()
        if coupon is None:
            coupon = _new_coupon(campaign, customer)
        CouponHolder.objects.get_or_create(
            coupon=coupon, customer=customer, defaults={"max_uses": campaign.uses_per_code}
        )
        _announce_pending(campaign, [customer.pk], now=now)
    return coupon


def issue_run_create(
    campaign: Campaign,
    *,
    segment: str,
    mode: str = IssueMode.PERSONAL,
    parameter_days: int | None = None,
    parameter_orders: int | None = None,
    customer_ids: Sequence[int] = (),
    actor: User | None = None,
) -> IssueRun:
    """Record an issue run for a segment and queue it; staff's admin action calls this."""
    with transaction.atomic():
        run = IssueRun.objects.create(
            campaign=campaign,
            segment=segment,
            mode=mode,
            parameter_days=parameter_days,
            parameter_orders=parameter_orders,
            started_by=actor,
        )
        if segment == Segment.EXPLICIT:
            run.explicit_customers.set(User.objects.filter(pk__in=customer_ids))
        issue_run_start(run)
    return run


def issue_run_start(run: IssueRun) -> IssueRun:
    """Queue a run; the Celery task does the work in batches after the commit."""
    from promotions.tasks import issue_run_execute_task

    transaction.on_commit(lambda: issue_run_execute_task.delay(run.pk))
    return run


def issue_run_restart(run_id: int) -> IssueRun | None:
    """Run again, against the segment as it is now: issues only what is missing, because issuing
    is idempotent. A run still running is left alone; one whose worker died is redelivered by
    Celery (late acknowledgement) and carries on by itself."""
    with transaction.atomic():
        run = IssueRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.status == IssueStatus.RUNNING:
            return run
        run.status = IssueStatus.PENDING
        run.error = ""
        run.issued = run.already_had = 0  # the new pass counts afresh: new codes, codes kept
        run.save(update_fields=["status", "error", "issued", "already_had", "updated_at"])
        issue_run_start(run)
    return run


def issue_run_execute(
    run_id: int, *, now: datetime | None = None, batch_size: int = ISSUE_BATCH_SIZE
) -> IssueRun | None:
    """Issue codes to every customer of the segment, one transaction per batch. Idempotent: a re-run
    (after a crash, or twice) issues nothing twice and mails nobody twice, because the unique
    (campaign, customer) and (coupon, customer) constraints decide what is new and ``emailed_at``
    what was sent."""
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
    try:
        group_coupon = None
        if run.mode == IssueMode.SHARED:
            group_coupon = Coupon.objects.filter(campaign=campaign, customer__isnull=True).order_by(
                "pk"
            ).first() or _new_coupon(campaign, None)
        for start in range(0, len(customer_ids), batch_size):
            batch = customer_ids[start : start + batch_size]
            with transaction.atomic():
                issued = _issue_batch(campaign, batch, group_coupon, now=now)
                IssueRun.objects.filter(pk=run.pk).update(
                    issued=F("issued") + issued,
                    already_had=F("already_had") + len(batch) - issued,
                )
    except Exception as error:
        # Staff see the failure on the run; "run again" carries on where it stopped.
        IssueRun.objects.filter(pk=run.pk).update(
            status=IssueStatus.FAILED, error=repr(error)[:2000], finished_at=clock.now()
        )
        raise
    IssueRun.objects.filter(pk=run.pk).update(status=IssueStatus.DONE, finished_at=clock.now())
    run.refresh_from_db()
    return run


def _issue_batch(
    campaign: Campaign, batch: list[int], group_coupon: Coupon | None, *, now: datetime
) -> int:
    """Codes and holders for one batch in a few bulk statements; returns how many were new."""
    if group_coupon is not None:
        holders = [CouponHolder(coupon=group_coupon, customer_id=pk, max_uses=1) for pk in batch]
    else:
        have = set(
            Coupon.objects.filter(campaign=campaign, customer_id__in=batch).values_list(
                "customer_id", flat=True
            )
        )
        Coupon.objects.bulk_create(
            [
                Coupon(campaign=campaign, customer_id=pk, code=code_generate())
                for pk in batch
                if pk not in have
            ],
            ignore_conflicts=True,  # another run got there first; the re-read below finds it
        )
        coupons = {
            coupon.customer_id: coupon
            for coupon in Coupon.objects.filter(campaign=campaign, customer_id__in=batch)
        }
        for pk in batch:
            if pk not in coupons:  # a drawn code collided with an existing one: draw again
                coupons[pk] = _new_coupon(campaign, User.objects.get(pk=pk))
        holders = [
            CouponHolder(coupon=coupons[pk], customer_id=pk, max_uses=campaign.uses_per_code)
            for pk in batch
        ]
    CouponHolder.objects.bulk_create(holders, ignore_conflicts=True)
    return _announce_pending(campaign, batch, now=now)


# --- Quoting ----------------------------------------------------------------------------


def failure_hour(now: datetime) -> datetime:
    """The hour whose failed code entries count against the account's limit."""
    return now.replace(minute=0, second=0, microsecond=0)


def coupon_quote(
    customer: User,
    *,
    code: str,
    lines: Sequence[tuple[Offer, int]],
    now: datetime | None = None,
    mark_applied: bool = True,
) -> CouponQuote:
    """Check a code for this customer and cart, and compute its discount.

    One statement finds the holder with the account's failed entries this hour and the campaign's
    eligible category paths. Unknown codes and other customers' codes get the same answer.
    ``mark_applied=False``: checkout marks the code applied when it redeems it.
    """
    now = now or clock.now()
    normalised = code_normalise(code)
    found = (
        None
        if normalised is None
        else holder_for_code(customer.pk, normalised, hour=failure_hour(now))
    )
    return coupon_quote_found(
        customer, normalised, found, lines=lines, now=now, mark_applied=mark_applied
    )


def coupon_quote_found(
    customer: User,
    normalised: str | None,
    found: CodeLookup | None,
    *,
    lines: Sequence[tuple[Offer, int]],
    now: datetime,
    mark_applied: bool = True,
) -> CouponQuote:
    """:func:`coupon_quote` for a holding already looked up (``holder_for_code`` at
    ``failure_hour(now)``, or the validation read, which fetches it with the caller's account):
    the attempt limit, the misuse signal and the rules, the same for every caller."""
    if found is None:
        _record_failure(customer, normalised, hour=failure_hour(now), now=now)
        raise errors.CouponInvalid()
    if found.failures_this_hour >= MAX_CODE_FAILURES_PER_HOUR:
        raise errors.CouponAttemptsExceeded()
    holder = found.holder
    quote = coupon_evaluate(holder, lines, category_paths=found.category_paths, now=now)
    if mark_applied and holder.applied_at is None:
        CouponHolder.objects.filter(pk=holder.pk, applied_at__isnull=True).update(applied_at=now)
    return quote


def _record_failure(
    customer: User, normalised: str | None, *, hour: datetime, now: datetime
) -> None:
    """Count a failed entry for the account, and flag a code that belongs to someone else.

    Raises ``coupon_attempts_exceeded`` once the account is at its limit for this hour; the count
    is keyed on the account, so rotating IP addresses does not reset it.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO promotions_codefailures (customer_id, hour, failures) VALUES (%s, %s, 1)"
            " ON CONFLICT (customer_id, hour) DO UPDATE"
            " SET failures = promotions_codefailures.failures + 1"
            " WHERE promotions_codefailures.failures < %s RETURNING failures",
            [customer.pk, hour, MAX_CODE_FAILURES_PER_HOUR],
        )
        if cursor.fetchone() is None:
            raise errors.CouponAttemptsExceeded()
        if normalised is not None:
            coupon = Coupon.objects.filter(code=normalised).only("pk").first()
            if coupon is not None:
                CouponMisuse.objects.create(coupon=coupon, customer=customer, attempted_at=now)


# --- Redemption ----------------------------------------------------------------------------

# One round trip inside the checkout transaction. Each step only runs when the one before it
# touched a row; the counts tell which guard refused. Lock order: holder, then campaign (the
# same as redemption_reverse_for_order).
_REDEEM_SQL = """
WITH holder AS (
    UPDATE promotions_couponholder
    SET uses = uses + 1, applied_at = COALESCE(applied_at, %(now)s)
    WHERE id = %(holder_id)s AND customer_id = %(customer_id)s AND uses < max_uses
    RETURNING id
), campaign AS (
    UPDATE promotions_campaign
    SET budget_spent = budget_spent + %(discount)s
    WHERE id = %(campaign_id)s AND is_active
      AND (budget IS NULL OR budget_spent + %(discount)s <= budget)
      AND EXISTS (SELECT 1 FROM holder)
    RETURNING id
), redemption AS (
    INSERT INTO promotions_redemption
        (coupon_id, holder_id, order_id, checkout_reference, discount, currency, order_total,
         redeemed_at)
    SELECT %(coupon_id)s, %(holder_id)s, line.order_id, %(reference)s, line.discount,
           line.currency, line.order_total, %(now)s
    FROM jsonb_to_recordset(%(orders)s::jsonb)
        AS line(order_id bigint, discount numeric, currency text, order_total numeric)
    WHERE EXISTS (SELECT 1 FROM campaign)
    RETURNING id
)
SELECT (SELECT count(*) FROM holder), (SELECT count(*) FROM campaign),
       (SELECT count(*) FROM redemption)
"""


def coupon_redeem(
    quote: CouponQuote,
    *,
    customer: User,
    orders: Sequence[Order],
    checkout_reference: uuid.UUID,
    now: datetime,
) -> None:
    """Inside the checkout transaction: take one use and the budget with guarded updates, and write
    one redemption row per discounted order. A lost race raises and rolls the checkout back.

    One use covers one checkout, however many sellers' orders it makes; each order it discounted
    gets its own redemption row with that order's share of the discount.
    """
    discounted = [order for order in orders if order.discount_total > 0]
    if not discounted:
        return  # the discount rounded to nothing: no use is taken for it
    with connection.cursor() as cursor:
        cursor.execute(
            _REDEEM_SQL,
            {
                "now": now,
                "holder_id": quote.holder_id,
                "customer_id": customer.pk,
                "campaign_id": quote.campaign_id,
                "coupon_id": quote.coupon_id,
                "discount": quote.discount,
                "reference": checkout_reference,
                "orders": json.dumps(
                    [
                        {
                            "order_id": order.pk,
                            "discount": str(order.discount_total),
                            "currency": order.currency,
                            "order_total": str(order.total),
                        }
                        for order in discounted
                    ]
                ),
            },
        )
        holders, campaigns, redemptions = cursor.fetchone()
    if holders != 1:
        raise errors.CouponUsedUp()
    if campaigns != 1:
        if not Campaign.objects.filter(pk=quote.campaign_id, is_active=True).exists():
            raise errors.CampaignPaused()
        raise errors.CouponBudgetExhausted()
    if redemptions != len(discounted):
        raise AssertionError("every discounted order has its redemption row")
    outbox.emit(
        "coupon.redeemed",
        {
            "coupon_id": quote.coupon_id,
            "customer_id": customer.pk,
            "checkout_reference": str(checkout_reference),
            "order_ids": [order.pk for order in discounted],
            "discount": str(quote.discount),
            "currency": quote.currency,
        },
    )


def redemption_reverse_for_order(order_id: int, *, now: datetime | None = None) -> bool:
    """An order cancelled before shipment gives its discount back to the budget; when every order of
    that checkout is cancelled, the use comes back too. Idempotent (``reversed_at``)."""
    now = now or clock.now()
    with transaction.atomic():
        found = (
            Redemption.objects.filter(order_id=order_id, reversed_at__isnull=True)
            .values("holder_id")
            .first()
        )
        if found is None:
            return False
        # The holder's lock serialises the cancellations of one checkout's orders, so the last
        # one sees the others reversed and returns the use exactly once.
        CouponHolder.objects.select_for_update().filter(pk=found["holder_id"]).first()
        redemption = (
            Redemption.objects.select_related("coupon")
            .filter(order_id=order_id, reversed_at__isnull=True)
            .first()
        )
        if redemption is None:
            return False
        Redemption.objects.filter(pk=redemption.pk).update(reversed_at=now)
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


# --- Campaigns ----------------------------------------------------------------------------


def campaign_set_active(
    campaign_id: int, *, is_active: bool, actor: User, now: datetime | None = None
) -> bool:
    """Pause or resume a campaign; returns whether it changed. A checkout already past its quote
    meets the pause in its redemption step and is refused whole."""
    now = now or clock.now()
    with transaction.atomic():
        changed = Campaign.objects.filter(pk=campaign_id, is_active=not is_active).update(
            is_active=is_active, updated_at=now
        )
        if changed:
            outbox.emit(
                "campaign.resumed" if is_active else "campaign.paused",
                {"campaign_id": campaign_id, "actor_id": actor.pk, "at": now.isoformat()},
            )
    return bool(changed)

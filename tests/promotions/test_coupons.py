from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from checkout import services as checkout
from core import outbox
from core.models import OutgoingEmail
from marketplace.models import Offer, Order
from marketplace.services import order_cancel
from promotions import errors, services
from promotions.choices import DiscountType, IssueMode, Segment
from promotions.models import Campaign, Coupon, CouponHolder, IssueRun, Redemption
from tests.factories import CategoryFactory, OfferFactory, ProductFactory, UserFactory
from tests.promotions.factories import CampaignFactory


def _buy(buyer, lines, code=None):
    return checkout.checkout_place(
        buyer,
        lines=[checkout.CartLine(offer.pk, quantity) for offer, quantity in lines],
        address_id=buyer.addresses.get().pk,
        coupon_code=code,
    )


def _quote(customer, code, lines, now=None):
    return services.coupon_quote(customer, code=code, lines=lines, now=now)


@pytest.mark.django_db
def test_percent_code_discounts_the_order_and_is_used_once(shopper, seller):
    offer = OfferFactory(seller=seller, price=Decimal("40.00"))
    coupon = services.coupon_issue_personal(
        CampaignFactory(percent=Decimal("15")), customer=shopper
    )
    result = _buy(shopper, [(offer, 2)], code=coupon.display_code.lower())
    order = result.orders[0]
    assert (order.subtotal, order.discount_total, order.total) == (
        Decimal("80.00"),
        Decimal("12.00"),
        Decimal("68.00"),
    )
    assert order.lines.get().discount == Decimal("12.00")
    assert CouponHolder.objects.get(coupon=coupon).uses == 1
    assert Redemption.objects.get().order_total == Decimal("68.00")
    with pytest.raises(errors.CouponUsedUp):
        _buy(shopper, [(offer, 1)], code=coupon.code)
    assert Order.objects.count() == 1


@pytest.mark.django_db
def test_unknown_and_someone_elses_code_get_the_same_answer(shopper, shopper_b, offer):
    coupon = services.coupon_issue_personal(CampaignFactory(), customer=shopper_b)
    with pytest.raises(errors.CouponInvalid) as not_mine:
        _quote(shopper, coupon.code, [(offer, 1)])
    with pytest.raises(errors.CouponInvalid) as unknown:
        _quote(shopper, "ABCD-EFGH-JKMN-PQRS-TVWX", [(offer, 1)])
    assert (not_mine.value.code, not_mine.value.detail, not_mine.value.extra) == (
        unknown.value.code,
        unknown.value.detail,
        unknown.value.extra,
    )


@pytest.mark.django_db
def test_each_failing_rule_has_its_own_code(shopper, offer):
    now = timezone.now()
    cases = {
        "coupon_not_started": CampaignFactory(
            starts_at=now + timedelta(days=1), ends_at=now + timedelta(days=2)
        ),
        "coupon_expired": CampaignFactory(
            starts_at=now - timedelta(days=2), ends_at=now - timedelta(days=1)
        ),
        "campaign_paused": CampaignFactory(is_active=False),
        "coupon_budget_exhausted": CampaignFactory(budget=Decimal("5"), budget_spent=Decimal("5")),
        "coupon_category_not_eligible": CampaignFactory(),
    }
    cases["coupon_category_not_eligible"].eligible_categories.add(CategoryFactory())
    for expected, campaign in cases.items():
        coupon = services.coupon_issue_personal(campaign, customer=shopper)
        with pytest.raises(errors.CouponError) as refused:
            _quote(shopper, coupon.code, [(offer, 1)], now=now)
        assert refused.value.code == expected


@pytest.mark.django_db
def test_minimum_order_value_says_how_much_is_missing(shopper, seller):
    offer = OfferFactory(seller=seller, price=Decimal("19.99"))
    coupon = services.coupon_issue_personal(
        CampaignFactory(min_order_value=Decimal("50.00")), customer=shopper
    )
    with pytest.raises(errors.CouponMinOrderNotMet) as refused:
        _quote(shopper, coupon.code, [(offer, 2)])
    assert refused.value.extra == {"missing": {"amount": "10.02", "currency": "EUR"}}


@pytest.mark.django_db
def test_only_eligible_categories_and_their_sub_categories_are_discounted(shopper, seller):
    consoles = CategoryFactory(slug="consoles")
    handheld = CategoryFactory(slug="handheld", parent=consoles)
    books = CategoryFactory(slug="books")
    in_child = OfferFactory(
        seller=seller, price=Decimal("100.00"), product=ProductFactory(category=handheld)
    )
    outside = OfferFactory(
        seller=seller, price=Decimal("50.00"), product=ProductFactory(category=books)
    )
    campaign = CampaignFactory(percent=Decimal("10"))
    campaign.eligible_categories.add(consoles)
    coupon = services.coupon_issue_personal(campaign, customer=shopper)
    quote = _quote(shopper, coupon.code, [(in_child, 1), (outside, 1)])
    assert quote.discount == Decimal("10.00")
    assert quote.line_discounts == {in_child.pk: Decimal("10.00")}


@pytest.mark.django_db
def test_fixed_discount_never_makes_a_total_negative_and_cap_applies(shopper, seller):
    cheap = OfferFactory(seller=seller, price=Decimal("3.00"))
    fixed = services.coupon_issue_personal(
        CampaignFactory(discount_type=DiscountType.FIXED, percent=None, fixed_amount=Decimal("20")),
        customer=shopper,
    )
    order = _buy(shopper, [(cheap, 1)], code=fixed.code).orders[0]
    assert (order.discount_total, order.total) == (Decimal("3.00"), Decimal("0.00"))
    capped = services.coupon_issue_personal(
        CampaignFactory(percent=Decimal("50"), max_discount=Decimal("7.50")), customer=shopper
    )
    assert _quote(
        shopper, capped.code, [(OfferFactory(price=Decimal("100")), 1)]
    ).discount == Decimal("7.50")


@pytest.mark.django_db
def test_discount_shares_add_up_to_the_cent_across_lines(shopper, seller):
    offers = [
        OfferFactory(seller=seller, price=Decimal(price)) for price in ("0.99", "0.99", "0.99")
    ]
    coupon = services.coupon_issue_personal(
        CampaignFactory(
            discount_type=DiscountType.FIXED, percent=None, fixed_amount=Decimal("1.00")
        ),
        customer=shopper,
    )
    quote = _quote(shopper, coupon.code, [(offer, 1) for offer in offers])
    assert sum(quote.line_discounts.values()) == Decimal("1.00")
    assert all(share <= Decimal("0.99") for share in quote.line_discounts.values())


@pytest.mark.django_db
def test_cancelling_before_shipment_gives_the_use_and_budget_back(shopper, seller):
    offer = OfferFactory(seller=seller, price=Decimal("10.00"))
    campaign = CampaignFactory(percent=Decimal("20"), budget=Decimal("100"))
    coupon = services.coupon_issue_personal(campaign, customer=shopper)
    order = _buy(shopper, [(offer, 1)], code=coupon.code).orders[0]
    assert Campaign.objects.get(pk=campaign.pk).budget_spent == Decimal("2.00")
    order_cancel(order.pk, by="buyer", actor=shopper)
    outbox.relay()
    outbox.relay()  # handled once, however often the relay runs
    assert CouponHolder.objects.get(coupon=coupon).uses == 0
    assert Campaign.objects.get(pk=campaign.pk).budget_spent == Decimal("0.00")
    assert Redemption.objects.get(order=order).reversed_at is not None
    assert _buy(shopper, [(offer, 1)], code=coupon.code).orders[0].discount_total == Decimal("2.00")


@pytest.mark.django_db
def test_once_per_customer_is_bound_to_the_account_not_the_email(shopper, seller):
    offer = OfferFactory(seller=seller)
    run = IssueRun.objects.create(
        campaign=CampaignFactory(), segment=Segment.EXPLICIT, mode=IssueMode.SHARED
    )
    run.explicit_customers.add(shopper)
    services.issue_run_execute(run.pk)
    code = Coupon.objects.get(campaign=run.campaign).code
    _buy(shopper, [(offer, 1)], code=code)
    shopper.email = "renamed@example.test"
    shopper.save()
    with pytest.raises(errors.CouponUsedUp):
        _buy(shopper, [(offer, 1)], code=code)
    assert Order.objects.filter(discount_total__gt=0).count() == 1


@pytest.mark.django_db
def test_segment_issuing_is_idempotent_and_mails_each_customer_once():
    now = timezone.now()
    newcomers = [UserFactory(date_joined=now - timedelta(days=3)) for _ in range(7)]
    UserFactory(date_joined=now - timedelta(days=90))  # too old for "new"
    run = IssueRun.objects.create(
        campaign=CampaignFactory(), segment=Segment.NEW, parameter_days=30
    )
    first = services.issue_run_execute(run.pk, now=now, batch_size=3)
    IssueRun.objects.filter(pk=run.pk).update(status="pending")
    second = services.issue_run_execute(run.pk, now=now, batch_size=3)
    assert (first.total, first.issued, first.status) == (7, 7, "done")
    assert (second.issued, second.already_had) == (7, 7)
    codes = Coupon.objects.filter(campaign=run.campaign)
    assert sorted(codes.values_list("customer_id", flat=True)) == sorted(u.pk for u in newcomers)
    outbox.relay()
    mails = OutgoingEmail.objects.filter(template="coupon_issued")
    assert sorted(mails.values_list("to", flat=True)) == sorted(u.email for u in newcomers)
    assert all(m.status == "sent" for m in mails)


@pytest.mark.django_db
def test_failed_coupon_leaves_the_checkout_unplaced(shopper, seller):
    offer = OfferFactory(seller=seller, stock=4)
    with pytest.raises(errors.CouponInvalid):
        _buy(shopper, [(offer, 1)], code="NOPE-NOPE")
    assert Offer.objects.get(pk=offer.pk).stock == 4
    assert Order.objects.count() == 0


@pytest.mark.django_db
def test_campaign_statistics_count_issued_redeemed_spent_and_revenue(shopper, shopper_b, seller):
    offer = OfferFactory(seller=seller, price=Decimal("10.00"))
    campaign = CampaignFactory(percent=Decimal("10"))
    code = services.coupon_issue_personal(campaign, customer=shopper).code
    services.coupon_issue_personal(campaign, customer=shopper_b)
    _buy(shopper, [(offer, 3)], code=code)
    from promotions.selectors import campaign_statistics

    assert campaign_statistics([campaign.pk])[campaign.pk] == {
        "pk": campaign.pk,
        "issued": 2,
        "emailed": 2,
        "applied": 1,
        "redeemed": 1,
        "redemption_rate": 0.5,
        "spent": Decimal("3.00"),
        "revenue": Decimal("27.00"),
    }


@pytest.mark.django_db
def test_starting_an_issue_run_queues_the_celery_task_after_commit(
    settings, django_capture_on_commit_callbacks, shopper
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    from config.celery import app

    app.conf.task_always_eager = True
    try:
        run = IssueRun.objects.create(campaign=CampaignFactory(), segment=Segment.EXPLICIT)
        run.explicit_customers.add(shopper)
        with django_capture_on_commit_callbacks(execute=True):
            services.issue_run_start(run)
    finally:
        app.conf.task_always_eager = False
    run.refresh_from_db()
    assert (run.status, run.issued) == ("done", 1)
    assert Coupon.objects.get(campaign=run.campaign).customer == shopper

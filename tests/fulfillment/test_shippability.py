from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core import mail

from checkout import services as checkout
from core import outbox
from fulfillment import rules, services
from fulfillment.choices import IncidentStatus, Reason
from fulfillment.models import (
    CoverageReport,
    Incident,
    ProductRestriction,
    RefusalCount,
    StaffOverride,
)
from marketplace.choices import FulfilmentChannel
from marketplace.models import Offer, Order
from tests.conftest import client_for
from tests.factories import AddressFactory, CategoryFactory, OfferFactory, ProductFactory
from tests.fulfillment.factories import stock, template, warehouse


def at(day: date, hour: int = 10) -> datetime:
    from django.utils import timezone

    return timezone.make_aware(datetime(day.year, day.month, day.day, hour))


def decide(offer, address, when=None):
    rules.invalidate_local()
    offer = Offer.objects.select_related("seller", "product__category").get(pk=offer.pk)
    return services.shippability(offer, address, now=when or at(date(2026, 11, 23)))


@pytest.mark.django_db
def test_seller_fulfilled_offer_is_never_judged_by_platform_warehouses(shopper, seller):
    """The incident: shoppers were told no warehouse near them could ship an offer that the
    seller ships from their own shop. A warehouse that covers nothing here changes nothing."""
    warehouse(areas=(("FR", "", 1, 2),))
    address = shopper.addresses.get()
    own = OfferFactory(seller=seller, fulfilment_channel=FulfilmentChannel.SELLER)
    template(seller, includes=(("DE", "", 1, 3),))
    platform = OfferFactory(fulfilment_channel=FulfilmentChannel.PLATFORM)

    seller_decision = decide(own, address)
    platform_decision = decide(platform, address)

    assert (seller_decision.is_shippable, seller_decision.reason_code) == (True, "ok")
    assert seller_decision.fulfilled_by == "seller"
    assert "warehouse" not in " ".join(step.rule for step in seller_decision.trace)
    assert (platform_decision.is_shippable, platform_decision.reason_code) == (
        False,
        "country_not_served",
    )


@pytest.mark.django_db
def test_platform_offer_ships_from_the_fastest_stocked_warehouse_with_a_business_day_window(
    shopper,
):
    offer = OfferFactory(fulfilment_channel=FulfilmentChannel.PLATFORM)
    slow = warehouse("par1", "Paris", "FR", areas=(("DE", "", 3, 5),))
    fast = warehouse("ber1", "Berlin", "DE", areas=(("DE", "1", 1, 2),))
    empty = warehouse("muc1", "München", "DE", areas=(("DE", "", 1, 1),))
    stock(slow, offer)
    stock(fast, offer)
    stock(empty, offer, 0)
    # Friday 18 Dec 2026: handling 1 day → Mon 21; transit 1-2 days → Tue 22 to Wed 23.
    decision = decide(offer, shopper.addresses.get(), at(date(2026, 12, 18)))
    assert decision.ships_from == "Berlin, DE (ber1)"
    assert (decision.earliest, decision.latest) == (date(2026, 12, 22), date(2026, 12, 23))
    # Wed 23 Dec: handling → Thu 24; 25/26 Dec are holidays, then a weekend: Mon 28, Tue 29.
    late = decide(offer, shopper.addresses.get(), at(date(2026, 12, 23)))
    assert (late.earliest, late.latest) == (date(2026, 12, 28), date(2026, 12, 29))


@pytest.mark.django_db
def test_every_reason_code_from_real_rules(shopper, seller, seller_b):
    address = shopper.addresses.get()
    po_box = AddressFactory(owner=shopper, is_default=False, is_po_box=True)
    island = AddressFactory(owner=shopper, is_default=False, postal_code="18565")
    vienna = AddressFactory(owner=shopper, is_default=False, country="AT", postal_code="1010")
    template(
        seller,
        includes=(("DE", "", 1, 3), ("AT", "8", 2, 4)),
        excludes=(("DE", "185"),),
        po_boxes=False,
    )
    own = OfferFactory(seller=seller)
    toys = CategoryFactory(slug="toys")
    restricted = OfferFactory(seller=seller, product=ProductFactory(category=toys))
    ProductRestriction.objects.create(country="DE", category=toys, reason="toy law")
    platform = OfferFactory(seller=seller_b, fulfilment_channel=FulfilmentChannel.PLATFORM)
    hub = warehouse(areas=(("DE", "8", 1, 2),))
    stock(hub, platform)

    def reason(offer, where):
        return decide(offer, where).reason_code

    assert reason(own, address) == Reason.OK
    assert reason(own, po_box) == Reason.PO_BOX_NOT_SUPPORTED
    assert reason(own, island) == Reason.POSTAL_CODE_EXCLUDED
    assert reason(own, vienna) == Reason.SELLER_DOES_NOT_SHIP_TO_REGION
    assert reason(restricted, address) == Reason.PRODUCT_RESTRICTED_IN_COUNTRY
    assert reason(platform, address) == Reason.NO_WAREHOUSE_SERVES_ADDRESS
    munich = AddressFactory(owner=shopper, is_default=False, postal_code="80331")
    assert reason(platform, munich) == Reason.OK
    Offer.objects.filter(pk=platform.pk).update(stock=0)
    assert reason(platform, munich) == Reason.OUT_OF_STOCK
    Offer.objects.filter(pk=own.pk).update(is_active=False)
    assert reason(own, address) == Reason.OFFER_INACTIVE


@pytest.mark.django_db
def test_warm_check_issues_no_sql_and_a_rule_change_is_seen(
    shopper, seller, django_assert_num_queries
):
    offer = Offer.objects.select_related("seller", "product__category").get(
        pk=OfferFactory(seller=seller).pk
    )
    address = shopper.addresses.get()
    rules.invalidate_local()
    assert services.shippability(offer, address).is_shippable
    with django_assert_num_queries(0):
        services.shippability(offer, address)
    template(seller, includes=(("AT", "", 1, 3),))
    rules.invalidate_local()  # what the version bump does in every process within seconds
    assert (
        services.shippability(offer, address).reason_code == Reason.SELLER_DOES_NOT_SHIP_TO_REGION
    )


@pytest.mark.django_db
def test_checkout_refusal_has_the_reason_code_changes_nothing_and_is_counted(shopper, seller):
    offer = OfferFactory(seller=seller, stock=3, price=Decimal("25.00"))
    template(seller, includes=(("AT", "", 1, 3),))
    rules.invalidate_local()
    with pytest.raises(services.ShippabilityRefused) as refused:
        checkout.checkout_place(
            shopper, lines=[checkout.CartLine(offer.pk, 2)], address_id=shopper.addresses.get().pk
        )
    assert refused.value.code == "seller_does_not_ship_to_region"
    assert Order.objects.count() == 0
    assert Offer.objects.get(pk=offer.pk).stock == 3
    count = RefusalCount.objects.get()
    assert (count.reason, count.region, count.attempts, count.blocked_value) == (
        "seller_does_not_ship_to_region",
        "DE-10",
        1,
        Decimal("50.00"),
    )


@pytest.mark.django_db
def test_checkout_stores_the_promised_window_on_the_order(shopper, seller):
    offer = OfferFactory(seller=seller, handling_days=2)
    template(seller, includes=(("DE", "", 1, 3),))
    rules.invalidate_local()
    order = checkout.checkout_place(
        shopper,
        lines=[checkout.CartLine(offer.pk, 1)],
        address_id=shopper.addresses.get().pk,
        now=at(date(2026, 11, 23)),
    ).orders[0]
    assert (order.promised_delivery_earliest, order.promised_delivery_latest) == (
        date(2026, 11, 26),
        date(2026, 11, 30),
    )


@pytest.mark.django_db
def test_a_spike_opens_an_incident_and_mails_the_seller_but_noise_does_not(shopper, seller):
    spiking = OfferFactory(seller=seller, price=Decimal("10.00"))
    noisy = OfferFactory(seller=seller)
    address = shopper.addresses.get()
    now = at(date(2026, 11, 23), 12)
    blocked = services.shippability(
        Offer.objects.select_related("seller", "product__category").get(pk=spiking.pk), address
    )
    refusal = blocked.__class__(
        **{
            **blocked.__dict__,
            "is_shippable": False,
            "reason_code": "seller_does_not_ship_to_region",
        }
    )
    for day in range(1, 7):  # a steady trickle: one refusal a day for both offers
        for offer in (spiking, noisy):
            services.refusal_record(
                offer, decision=refusal, address=address, quantity=1, now=now - timedelta(days=day)
            )
    for _ in range(40):
        services.refusal_record(
            spiking, decision=refusal, address=address, quantity=1, now=now - timedelta(minutes=20)
        )
    for _ in range(3):
        services.refusal_record(
            noisy, decision=refusal, address=address, quantity=1, now=now - timedelta(minutes=20)
        )

    opened = services.incidents_detect(now=now)
    again = services.incidents_detect(now=now)

    assert [incident.offer_id for incident in opened] == [spiking.pk]
    assert again == []
    incident = Incident.objects.get()
    assert (incident.attempts, incident.blocked_value, incident.regions) == (
        40,
        Decimal("400.00"),
        ["DE-10"],
    )
    outbox.relay()
    assert [message.to for message in mail.outbox] == [[seller.owner.email]]
    services.incidents_detect(now=now + timedelta(hours=4))
    assert Incident.objects.get().status == IncidentStatus.RESOLVED


@pytest.mark.django_db
def test_staff_override_needs_a_confirmed_incident_and_is_audited(shopper, seller, staff):
    offer = OfferFactory(seller=seller, stock=2)
    template(seller, includes=(("AT", "", 1, 3),))
    rules.invalidate_local()
    request = services.OverrideRequest(actor=staff, reason="template bug confirmed with seller")
    lines = [checkout.CartLine(offer.pk, 1)]
    address_id = shopper.addresses.get().pk
    with pytest.raises(services.DomainError) as refused:
        checkout.checkout_place(shopper, lines=lines, address_id=address_id, override=request)
    assert refused.value.code == "override_not_allowed"
    incident = Incident.objects.create(
        offer=offer,
        seller=seller,
        reason="seller_does_not_ship_to_region",
        status=IncidentStatus.CONFIRMED,
        opened_at=at(date(2026, 11, 23)),
        last_refusal_at=at(date(2026, 11, 23)),
    )
    with pytest.raises(services.DomainError) as not_staff:
        checkout.checkout_place(
            shopper,
            lines=lines,
            address_id=address_id,
            override=services.OverrideRequest(actor=shopper, reason="please"),
        )
    assert not_staff.value.code == "permission_denied"
    order = checkout.checkout_place(
        shopper, lines=lines, address_id=address_id, override=request
    ).orders[0]
    audit = StaffOverride.objects.get()
    assert (audit.order_id, audit.incident_id, audit.actor_id, audit.refused_reason) == (
        order.pk,
        incident.pk,
        staff.pk,
        "seller_does_not_ship_to_region",
    )
    assert Offer.objects.get(pk=offer.pk).stock == 1


@pytest.mark.django_db
def test_template_change_reports_regions_that_became_unbuyable(shopper, shopper_b, seller):
    offer = OfferFactory(seller=seller)
    template(seller, includes=(("DE", "", 1, 3),))
    services.coverage_check([offer.pk], trigger="baseline")
    client = client_for(seller.owner)
    response = client.put(
        f"/api/seller/shipping-templates/{seller.shipping_templates.get().pk}/",
        {
            "name": "Standard",
            "is_default": True,
            "rules": [{"country": "DE", "postal_prefix": "1"}],
        },
        format="json",
    )
    assert response.status_code == 200
    reports = services.coverage_check([offer.pk], trigger="template saved")
    assert [(r.country, r.newly_unbuyable_regions) for r in reports] == [("DE", ["DE-80"])]
    assert CoverageReport.objects.filter(offer=offer).count() == 2


@pytest.mark.django_db
def test_shippability_api_only_for_my_addresses_and_trace_only_for_staff(
    shopper, shopper_b, staff, offer
):
    mine = shopper.addresses.get()
    theirs = shopper_b.addresses.get()
    client = client_for(shopper)
    ok = client.get(f"/api/offers/{offer.pk}/shippability/?address={mine.pk}")
    other = client.get(f"/api/offers/{offer.pk}/shippability/?address={theirs.pk}")
    missing = client.get(f"/api/offers/{offer.pk}/shippability/?address=999999")
    assert ok.status_code == 200
    assert ok.json()["shippable"] is True
    assert "trace" not in ok.json()
    assert other.json() == missing.json()
    assert other.json()["code"] == "address_not_found"
    AddressFactory(owner=staff)
    staff_view = client_for(staff).get(
        f"/api/offers/{offer.pk}/shippability/?address={staff.addresses.get().pk}"
    )
    assert [step["rule"] for step in staff_view.json()["trace"]][:3] == [
        "offer_active",
        "seller_active",
        "address_valid",
    ]


@pytest.mark.django_db
def test_product_page_and_cart_show_the_decision(shopper, seller):
    offer = OfferFactory(seller=seller)
    template(seller, includes=(("AT", "", 1, 3),))
    rules.invalidate_local()
    client = client_for(shopper)
    page = client.get(f"/api/products/{offer.product_id}/").json()
    assert page["offers"][0]["shippability"]["reason_code"] == "seller_does_not_ship_to_region"
    anonymous = client_for(None).get(f"/api/products/{offer.product_id}/").json()
    assert anonymous["offers"][0]["shippability"] is None
    cart = client.post(
        "/api/cart/quote/",
        {
            "address_id": shopper.addresses.get().pk,
            "lines": [{"offer_id": offer.pk, "quantity": 1}],
        },
        format="json",
    ).json()
    assert cart["lines"][0]["problems"] == ["seller_does_not_ship_to_region"]
    assert cart["is_purchasable"] is False
    assert RefusalCount.objects.get().attempts == 1


@pytest.mark.django_db
def test_seller_templates_are_scoped(seller, seller_b):
    theirs = template(seller_b)
    client = client_for(seller.owner)
    assert client.get(f"/api/seller/shipping-templates/{theirs.pk}/").status_code == 404
    assert client.delete(f"/api/seller/shipping-templates/{theirs.pk}/").status_code == 404
    foreign_offer = OfferFactory(seller=seller_b)
    refused = client.post(
        "/api/seller/shipping-templates/",
        {"name": "Mine", "rules": [{"country": "DE"}], "offer_ids": [foreign_offer.pk]},
        format="json",
    )
    assert refused.status_code == 400
    assert refused.json()["code"] == "template_invalid"
    assert seller.shipping_templates.count() == 0
    assert seller_b.shipping_templates.get().rules.count() == 1


@pytest.mark.django_db
def test_staff_order_api_places_an_overridden_order_and_shoppers_cannot(shopper, seller, staff):
    offer = OfferFactory(seller=seller)
    template(seller, includes=(("AT", "", 1, 3),))
    rules.invalidate_local()
    Incident.objects.create(
        offer=offer,
        seller=seller,
        reason="seller_does_not_ship_to_region",
        status=IncidentStatus.CONFIRMED,
        opened_at=at(date(2026, 11, 23)),
        last_refusal_at=at(date(2026, 11, 23)),
    )
    body = {
        "buyer_id": shopper.pk,
        "address_id": shopper.addresses.get().pk,
        "lines": [{"offer_id": offer.pk, "quantity": 1}],
        "override_reason": "seller confirmed they ship to Germany",
    }
    denied = client_for(shopper).post(
        "/api/staff/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="s"
    )
    placed = client_for(staff).post(
        "/api/staff/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="s"
    )
    assert denied.status_code == 403
    assert placed.status_code == 201
    assert Order.objects.get().buyer == shopper
    assert StaffOverride.objects.get().actor == staff


@pytest.mark.django_db
def test_product_page_body_matches_its_documented_schema(shopper, seller):
    from checkout.api.serializers import ProductPageOutput

    offer = OfferFactory(seller=seller)
    body = client_for(shopper).get(f"/api/products/{offer.product_id}/").json()
    documented = ProductPageOutput(data=body)
    assert documented.is_valid(), documented.errors
    assert set(body["offers"][0]) == set(ProductPageOutput().fields["offers"].child.fields)
    assert body["offers"][0]["shippability"]["delivery_window"]["earliest"] is not None

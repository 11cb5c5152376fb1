"""The decision where money changes hands: checkout, the cart, the product page, staff overrides."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from checkout import services as checkout
from core.errors import DomainError
from fulfillment import rules, services
from fulfillment.choices import IncidentStatus
from fulfillment.models import Incident, RefusalCount, StaffOverride
from marketplace.models import Offer, Order, OrderLine
from tests.conftest import client_for
from tests.factories import OfferFactory
from tests.fulfillment.factories import at, template


def _confirmed_incident(offer, reason="seller_does_not_ship_to_region"):
    return Incident.objects.create(
        offer=offer,
        seller=offer.seller,
        reason=reason,
        status=IncidentStatus.CONFIRMED,
        opened_at=at(date(2026, 11, 23)),
        last_refusal_at=at(date(2026, 11, 23)),
    )


@pytest.mark.django_db
def test_checkout_refusal_has_the_reason_code_changes_nothing_and_is_counted(shopper, seller):
    offer = OfferFactory(seller=seller, stock=3, price=Decimal("25.00"))
    template(seller, includes=(("AT", "", 1, 3),))
    rules.invalidate_local()
    with pytest.raises(services.ShippabilityRefused) as refused:
        checkout.checkout_place(
            shopper,
            lines=[checkout.CartLine(offer.pk, 2)],
            address_id=shopper.addresses.get().pk,
            now=at(date(2026, 11, 23), 14),
        )
    assert (refused.value.code, refused.value.status) == ("seller_does_not_ship_to_region", 409)
    assert refused.value.detail == "The seller does not ship to this region of Germany."
    assert refused.value.extra == {"offer_id": offer.pk, "fulfilled_by": "seller"}
    assert Order.objects.count() == 0
    assert OrderLine.objects.count() == 0
    assert Offer.objects.get(pk=offer.pk).stock == 3
    count = RefusalCount.objects.get()
    assert (count.reason, count.region, count.hour, count.attempts, count.blocked_value) == (
        "seller_does_not_ship_to_region",
        "DE-10",
        at(date(2026, 11, 23), 14),
        1,
        Decimal("50.00"),
    )


@pytest.mark.django_db
def test_refusals_share_one_row_per_offer_reason_region_and_hour(shopper, shopper_b, seller):
    offer = OfferFactory(seller=seller, price=Decimal("10.00"))
    template(seller, includes=(("AT", "", 1, 3),))
    rules.invalidate_local()
    for minute_offset, buyer in [(1, shopper), (20, shopper), (59, shopper_b), (61, shopper)]:
        with pytest.raises(services.ShippabilityRefused):
            checkout.checkout_place(
                buyer,
                lines=[checkout.CartLine(offer.pk, 1)],
                address_id=buyer.addresses.get().pk,
                now=at(date(2026, 11, 23), 14) + timedelta(minutes=minute_offset),
            )
    rows = sorted(
        RefusalCount.objects.values_list("region", "hour__hour", "attempts", "blocked_value")
    )
    assert rows == [
        ("DE-10", 14, 2, Decimal("20.00")),
        ("DE-10", 15, 1, Decimal("10.00")),
        ("DE-80", 14, 1, Decimal("10.00")),
    ]


@pytest.mark.django_db
def test_counting_never_fails_the_caller(shopper, seller):
    """A refusal that cannot be counted (here: a blocked value too large for its column, a real
    error from PostgreSQL) is logged and dropped; the caller's transaction stays usable."""
    offer = OfferFactory(seller=seller)
    loaded = Offer.objects.select_related("seller", "product__category").get(pk=offer.pk)
    decision = services.shippability(loaded, shopper.addresses.get())
    loaded.price = Decimal("9" * 30)
    services.refusal_record(loaded, decision=decision, address=shopper.addresses.get(), quantity=1)
    assert RefusalCount.objects.count() == 0
    assert Offer.objects.count() == 1


@pytest.mark.django_db
def test_checkout_stores_the_promised_window_on_the_order(shopper, seller):
    offer = OfferFactory(seller=seller, handling_days=2)
    slow = OfferFactory(seller=seller, handling_days=4)
    template(seller, includes=(("DE", "", 1, 3),))
    rules.invalidate_local()
    order = checkout.checkout_place(
        shopper,
        lines=[checkout.CartLine(offer.pk, 1), checkout.CartLine(slow.pk, 1)],
        address_id=shopper.addresses.get().pk,
        now=at(date(2026, 11, 23)),
    ).orders[0]
    # Monday 23 Nov: the slower line decides. +4 handling → Fri 27; +1..3 transit → Mon 30
    # to Wed 2 Dec.
    order.refresh_from_db()
    assert (order.promised_delivery_earliest, order.promised_delivery_latest) == (
        date(2026, 11, 30),
        date(2026, 12, 2),
    )


@pytest.mark.django_db
def test_staff_override_needs_staff_a_reason_and_a_confirmed_incident_and_is_audited(
    shopper, seller, staff
):
    offer = OfferFactory(seller=seller, stock=2)
    template(seller, includes=(("AT", "", 1, 3),))
    rules.invalidate_local()
    request = services.OverrideRequest(actor=staff, reason="template bug confirmed with seller")
    lines = [checkout.CartLine(offer.pk, 1)]
    address_id = shopper.addresses.get().pk

    def place(override):
        return checkout.checkout_place(
            shopper, lines=lines, address_id=address_id, override=override
        )

    with pytest.raises(DomainError) as no_incident:
        place(request)
    incident = _confirmed_incident(offer)
    with pytest.raises(DomainError) as not_staff:
        place(services.OverrideRequest(actor=shopper, reason="please"))
    with pytest.raises(DomainError) as no_reason:
        place(services.OverrideRequest(actor=staff, reason="   "))
    assert (no_incident.value.code, no_incident.value.status) == ("override_not_allowed", 409)
    assert (not_staff.value.code, not_staff.value.status) == ("permission_denied", 403)
    assert (no_reason.value.code, list(no_reason.value.fields)) == (
        "validation_error",
        ["override_reason"],
    )
    assert Order.objects.count() == 0
    assert StaffOverride.objects.count() == 0

    order = place(request).orders[0]

    audit = StaffOverride.objects.get()
    assert (
        audit.order_id,
        audit.incident_id,
        audit.actor_id,
        audit.refused_reason,
        audit.reason,
    ) == (
        order.pk,
        incident.pk,
        staff.pk,
        "seller_does_not_ship_to_region",
        "template bug confirmed with seller",
    )
    assert order.buyer == shopper
    assert Offer.objects.get(pk=offer.pk).stock == 1


@pytest.mark.django_db
def test_an_open_but_unconfirmed_incident_or_another_reason_does_not_allow_an_override(
    shopper, seller, staff
):
    offer = OfferFactory(seller=seller)
    template(seller, includes=(("AT", "", 1, 3),))
    rules.invalidate_local()
    other_reason = _confirmed_incident(offer, reason="postal_code_excluded")
    Incident.objects.create(
        offer=offer,
        seller=seller,
        reason="seller_does_not_ship_to_region",
        opened_at=other_reason.opened_at,
        last_refusal_at=other_reason.opened_at,
    )
    with pytest.raises(DomainError) as refused:
        checkout.checkout_place(
            shopper,
            lines=[checkout.CartLine(offer.pk, 1)],
            address_id=shopper.addresses.get().pk,
            override=services.OverrideRequest(actor=staff, reason="sure"),
        )
    assert refused.value.code == "override_not_allowed"
    assert Order.objects.count() == 0


@pytest.mark.django_db
def test_staff_order_api_places_an_overridden_order_and_shoppers_cannot(shopper, seller, staff):
    offer = OfferFactory(seller=seller)
    template(seller, includes=(("AT", "", 1, 3),))
    rules.invalidate_local()
    _confirmed_incident(offer)
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
def test_checkout_api_answers_409_with_the_reason_code_in_the_envelope(shopper, seller):
    offer = OfferFactory(seller=seller)
    template(seller, includes=(("DE", "", 1, 3),), excludes=(("DE", "10"),))
    rules.invalidate_local()
    response = client_for(shopper).post(
        "/api/checkout/",
        {
            "address_id": shopper.addresses.get().pk,
            "lines": [{"offer_id": offer.pk, "quantity": 1}],
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="k1",
    )
    assert response.status_code == 409
    assert response.json()["code"] == "postal_code_excluded"
    assert response.json()["detail"] == "The seller does not deliver to this postal code."
    assert Order.objects.count() == 0


@pytest.mark.django_db
def test_product_page_and_cart_show_the_decision(shopper, seller):
    offer = OfferFactory(seller=seller)
    template(seller, includes=(("AT", "", 1, 3),))
    rules.invalidate_local()
    client = client_for(shopper)
    page = client.get(f"/api/products/{offer.product_id}/").json()
    assert page["offers"][0]["shippability"] == {
        "shippable": False,
        "fulfilled_by": "seller",
        "reason_code": "seller_does_not_ship_to_region",
        "message": "The seller does not ship to this region of Germany.",
        "ships_from": None,
        "delivery_window": None,
    }
    anonymous = client_for(None).get(f"/api/products/{offer.product_id}/").json()
    assert anonymous["offers"][0]["shippability"] is None
    assert RefusalCount.objects.count() == 0  # a product page view is not an attempt to buy
    cart = client.post(
        "/api/cart/quote/",
        {
            "address_id": shopper.addresses.get().pk,
            "lines": [{"offer_id": offer.pk, "quantity": 1}],
        },
        format="json",
    ).json()
    assert cart["lines"][0]["problems"] == ["seller_does_not_ship_to_region"]
    assert cart["lines"][0]["shippability"]["reason_code"] == "seller_does_not_ship_to_region"
    assert cart["is_purchasable"] is False
    assert RefusalCount.objects.get().attempts == 1


@pytest.mark.django_db
def test_product_page_without_a_default_address_has_no_decision(seller):
    from tests.factories import UserFactory

    offer = OfferFactory(seller=seller)
    body = client_for(UserFactory()).get(f"/api/products/{offer.product_id}/").json()
    assert body["offers"][0]["shippability"] is None


@pytest.mark.django_db
def test_product_page_body_matches_its_documented_schema(shopper, seller):
    from checkout.api.serializers import ProductPageOutput

    offer = OfferFactory(seller=seller)
    body = client_for(shopper).get(f"/api/products/{offer.product_id}/").json()
    documented = ProductPageOutput(data=body)
    assert documented.is_valid(), documented.errors
    assert set(body["offers"][0]) == set(ProductPageOutput().fields["offers"].child.fields)
    assert body["offers"][0]["shippability"]["delivery_window"]["earliest"] is not None

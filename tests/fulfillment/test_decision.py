"""The decision on real rules from the database: reasons, the incident, promised windows."""

from __future__ import annotations

from datetime import date

import pytest
from django.utils import translation

from fulfillment.choices import Reason
from fulfillment.models import ProductRestriction
from marketplace.choices import FulfilmentChannel, SellerStatus
from marketplace.models import Offer, Seller
from tests.factories import (
    AddressFactory,
    CategoryFactory,
    OfferFactory,
    ProductFactory,
    SellerFactory,
)
from tests.fulfillment.factories import at, decide, stock, template, warehouse


@pytest.mark.django_db
def test_the_incident_seller_fulfilled_offer_ships_although_no_warehouse_serves_the_address(
    shopper, seller
):
    """The incident: shoppers were told no warehouse near them could ship an offer that the
    seller ships from their own shop. Platform warehouses that cover nothing near the address, or
    cover it without stock, change nothing about a seller-fulfilled offer."""
    far_away = warehouse("par1", "Paris", "FR", areas=(("FR", "", 1, 2),))
    empty_here = warehouse("ber1", "Berlin", "DE", areas=(("DE", "", 1, 2),))
    own = OfferFactory(seller=seller, fulfilment_channel=FulfilmentChannel.SELLER)
    stock(far_away, own, 5)
    stock(empty_here, own, 0)
    template(seller, includes=(("DE", "", 1, 3),))
    platform = OfferFactory(fulfilment_channel=FulfilmentChannel.PLATFORM)
    stock(far_away, platform, 5)
    stock(empty_here, platform, 0)
    address = shopper.addresses.get(is_default=True)

    seller_decision = decide(own, address)
    platform_decision = decide(platform, address)

    assert (seller_decision.is_shippable, seller_decision.reason_code) == (True, "ok")
    assert seller_decision.fulfilled_by == "seller"
    assert seller_decision.ships_from == "DE"
    assert seller_decision.warehouse_id is None
    assert [step.rule for step in seller_decision.trace] == [
        "offer_active",
        "seller_active",
        "address_valid",
        "product_allowed_in_country",
        "in_stock",
        "template",
        "seller_ships_to_country",
        "postal_code_not_excluded",
        "seller_ships_to_region",
        "po_box_ok",
        "ok",
    ]
    assert (platform_decision.is_shippable, platform_decision.reason_code) == (
        False,
        "no_warehouse_stock_for_address",
    )
    assert platform_decision.fulfilled_by == "platform"


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
    decision = decide(offer, shopper.addresses.get(is_default=True), at(date(2026, 12, 18)))
    assert decision.ships_from == "Berlin, DE (ber1)"
    assert decision.warehouse_id == fast.pk
    assert (decision.earliest, decision.latest) == (date(2026, 12, 22), date(2026, 12, 23))
    # Wed 23 Dec: handling → Thu 24; 25/26 Dec are holidays, then a weekend: Mon 28, Tue 29.
    late = decide(offer, shopper.addresses.get(is_default=True), at(date(2026, 12, 23)))
    assert (late.earliest, late.latest) == (date(2026, 12, 28), date(2026, 12, 29))


@pytest.mark.django_db
def test_seller_window_counts_handling_at_home_and_transit_in_the_destination_calendar(shopper):
    """3 Oct (German Unity Day) is a holiday in Germany only; on Tuesday 3 Oct 2028 it delays a
    German seller's handling, and a parcel travelling into Germany, but not one into Austria."""
    german = SellerFactory(country="DE")
    austrian = SellerFactory(country="AT")
    from_germany = OfferFactory(seller=german, handling_days=2)
    from_austria = OfferFactory(seller=austrian, handling_days=1)
    template(german, includes=(("AT", "", 2, 4),))
    template(austrian, includes=(("DE", "", 1, 2),))
    vienna = AddressFactory(owner=shopper, is_default=False, country="AT", postal_code="1010")
    berlin = shopper.addresses.get(is_default=True)
    # Mon 2 Oct: handling 2 in DE skips Tue 3 → Thu 5; transit 2-4 in AT → Mon 9 to Wed 11.
    to_austria = decide(from_germany, vienna, at(date(2028, 10, 2)))
    assert (to_austria.earliest, to_austria.latest) == (date(2028, 10, 9), date(2028, 10, 11))
    # Fri 29 Sep: handling 1 in AT → Mon 2 Oct; transit 1-2 in DE skips Tue 3 → Wed 4 to Thu 5.
    to_germany = decide(from_austria, berlin, at(date(2028, 9, 29)))
    assert (to_germany.earliest, to_germany.latest) == (date(2028, 10, 4), date(2028, 10, 5))
    # Saturday 4 Apr 2026, Easter Monday the 6th: counting starts Tue 7; handling 2 → Thu 9;
    # transit 2-4 → Mon 13 to Wed 15.
    easter = decide(from_germany, vienna, at(date(2026, 4, 4)))
    assert (easter.earliest, easter.latest) == (date(2026, 4, 13), date(2026, 4, 15))


@pytest.mark.django_db
def test_template_handling_days_win_over_the_offer_and_no_template_means_home_country_only(
    shopper, seller
):
    offer = OfferFactory(seller=seller, handling_days=5)
    vienna = AddressFactory(owner=shopper, is_default=False, country="AT", postal_code="1010")
    home = decide(offer, shopper.addresses.get(is_default=True), at(date(2026, 11, 23)))
    abroad = decide(offer, vienna)
    assert (home.reason_code, home.trace[5].detail) == ("ok", "none: the seller's own country")
    # Monday 23 Nov + 5 handling → Mon 30 Nov; default transit 2-5 → Wed 2 to Mon 7 Dec.
    assert (home.earliest, home.latest) == (date(2026, 12, 2), date(2026, 12, 7))
    assert abroad.reason_code == "seller_does_not_ship_to_region"
    template(seller, includes=(("DE", "", 1, 1),), handling=0)
    fast = decide(offer, shopper.addresses.get(is_default=True), at(date(2026, 11, 23)))
    assert (fast.earliest, fast.latest) == (date(2026, 11, 24), date(2026, 11, 24))


@pytest.mark.django_db
def test_every_reason_code_from_real_rules(shopper, seller, seller_b):
    address = shopper.addresses.get(is_default=True)
    po_box = AddressFactory(owner=shopper, is_default=False, is_po_box=True)
    island = AddressFactory(owner=shopper, is_default=False, postal_code="18565")
    vienna = AddressFactory(owner=shopper, is_default=False, country="AT", postal_code="1010")
    paris = AddressFactory(owner=shopper, is_default=False, country="FR", postal_code="75001")
    malformed = AddressFactory(owner=shopper, is_default=False, postal_code="1011")
    template(
        seller,
        includes=(("DE", "", 1, 3), ("AT", "8", 2, 4)),
        excludes=(("DE", "185"),),
        po_boxes=False,
    )
    own = OfferFactory(seller=seller)
    toys = CategoryFactory(slug="toys")
    guns = CategoryFactory(slug="guns", parent=toys)
    restricted = OfferFactory(seller=seller, product=ProductFactory(category=guns))
    ProductRestriction.objects.create(country="DE", category=toys, reason="toy law")
    hazardous = OfferFactory(seller=seller, product=ProductFactory(is_hazardous=True))
    ProductRestriction.objects.create(country="DE", hazardous_only=True, reason="no batteries")
    platform = OfferFactory(seller=seller_b, fulfilment_channel=FulfilmentChannel.PLATFORM)
    hub = warehouse(areas=(("DE", "8", 1, 2),))
    stock(hub, platform)
    munich = AddressFactory(owner=shopper, is_default=False, postal_code="80331")

    def reason(offer, where):
        return decide(offer, where).reason_code

    assert reason(own, address) == Reason.OK
    assert reason(own, po_box) == Reason.PO_BOX_NOT_SUPPORTED
    assert reason(own, island) == Reason.POSTAL_CODE_EXCLUDED
    assert reason(own, vienna) == Reason.SELLER_DOES_NOT_SHIP_TO_REGION
    assert reason(own, malformed) == Reason.ADDRESS_INVALID
    assert reason(restricted, address) == Reason.PRODUCT_RESTRICTED_IN_COUNTRY
    assert reason(hazardous, address) == Reason.PRODUCT_RESTRICTED_IN_COUNTRY
    assert reason(hazardous, vienna) == Reason.SELLER_DOES_NOT_SHIP_TO_REGION
    assert reason(platform, address) == Reason.NO_WAREHOUSE_SERVES_ADDRESS
    assert reason(platform, paris) == Reason.COUNTRY_NOT_SERVED
    assert reason(platform, munich) == Reason.OK
    assert (
        reason(
            platform,
            AddressFactory(owner=shopper, is_default=False, postal_code="80331", is_po_box=True),
        )
        == Reason.PO_BOX_NOT_SUPPORTED
    )
    Offer.objects.filter(pk=platform.pk).update(stock=0)
    assert reason(platform, munich) == Reason.OUT_OF_STOCK
    Offer.objects.filter(pk=own.pk).update(is_active=False)
    assert reason(own, address) == Reason.OFFER_INACTIVE
    Seller.objects.filter(pk=seller.pk).update(status=SellerStatus.SUSPENDED)
    assert reason(restricted, address) == Reason.SELLER_NOT_ACTIVE


@pytest.mark.django_db
def test_the_support_sentence_names_the_country_in_the_shoppers_language(shopper, seller):
    offer = OfferFactory(seller=seller)
    template(seller, includes=(("AT", "", 1, 3),))
    decision = decide(offer, AddressFactory(owner=shopper, is_default=False, postal_code="80331"))
    assert decision.message == "The seller does not ship to this region of Germany."
    with translation.override("de"):
        german = decide(offer, shopper.addresses.get(is_default=True))
    assert german.reason_code == "seller_does_not_ship_to_region"
    assert german.message  # the lead compiles the German catalogue; the sentence is never empty

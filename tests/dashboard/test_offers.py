from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from core.models import OutboxEvent
from marketplace.models import Offer
from tests.factories import OfferFactory


def _row(offer: Offer) -> tuple:
    return Offer.objects.filter(pk=offer.pk).values_list("price", "stock", "is_active").get()


@pytest.mark.django_db
def test_offer_list_shows_my_offers_only_in_a_fixed_number_of_queries(
    seller_client, seller, seller_b, django_assert_num_queries
):
    mine = [OfferFactory(seller=seller) for _ in range(3)]
    OfferFactory(seller=seller_b)
    # session, user, seller, count, page of offers with their products
    with django_assert_num_queries(5):
        response = seller_client.get(reverse("dashboard:offers"))
    OfferFactory.create_batch(5, seller=seller)
    with django_assert_num_queries(5):
        seller_client.get(reverse("dashboard:offers"))
    assert [offer.pk for offer, _form in response.context["rows"]] == [o.pk for o in mine]


@pytest.mark.django_db
def test_offer_form_saves_price_stock_and_active(seller_client, seller):
    offer = OfferFactory(seller=seller, stock=1, is_active=True)
    response = seller_client.post(
        reverse("dashboard:offer-update", args=[offer.pk]) + "?page=1",
        {"price": "15.00", "stock": "7"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard:offers") + "?page=1"
    assert _row(offer) == (Decimal("15.00"), 7, False)
    assert OutboxEvent.objects.filter(topic="offer.updated").count() == 1


@pytest.mark.django_db
def test_a_refused_price_is_shown_on_its_row_and_changes_nothing(seller_client, seller):
    offer = OfferFactory(seller=seller, stock=1)
    before = _row(offer)
    response = seller_client.post(
        reverse("dashboard:offer-update", args=[offer.pk]),
        {"price": "0", "stock": "4", "is_active": "on"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "The price must be positive." in page
    assert 'value="4"' in page  # the seller's input is kept
    assert _row(offer) == before
    assert OutboxEvent.objects.filter(topic="offer.updated").count() == 0


@pytest.mark.django_db
def test_text_in_the_stock_field_is_a_form_error(seller_client, seller):
    offer = OfferFactory(seller=seller, stock=1)
    before = _row(offer)
    response = seller_client.post(
        reverse("dashboard:offer-update", args=[offer.pk]), {"price": "9.99", "stock": "many"}
    )
    assert response.status_code == 400
    assert "Enter a whole number." in response.content.decode()
    assert _row(offer) == before


@pytest.mark.django_db
def test_another_sellers_offer_is_not_found_and_unchanged(seller_client, seller_b):
    theirs = OfferFactory(seller=seller_b, stock=1)
    before = _row(theirs)
    response = seller_client.post(
        reverse("dashboard:offer-update", args=[theirs.pk]), {"price": "1.00", "stock": "0"}
    )
    assert response.status_code == 404
    assert _row(theirs) == before

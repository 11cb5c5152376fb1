from __future__ import annotations

from datetime import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from fulfillment import rules, services
from fulfillment.models import Incident
from tests.factories import OfferFactory
from tests.fulfillment.factories import template


@pytest.mark.django_db
def test_seller_checks_an_address_and_sees_incidents_and_coverage(
    client, seller, shopper, seller_b
):
    offer = OfferFactory(seller=seller)
    template(seller, includes=(("DE", "", 1, 3),), excludes=(("DE", "185"),))
    rules.invalidate_local()
    services.coverage_check([offer.pk], trigger="test")
    now = timezone.make_aware(datetime(2026, 11, 23, 10))
    Incident.objects.create(
        offer=offer,
        seller=seller,
        reason="postal_code_excluded",
        regions=["DE-18"],
        attempts=42,
        opened_at=now,
        last_refusal_at=now,
    )
    Incident.objects.create(
        offer=OfferFactory(seller=seller_b),
        seller=seller_b,
        reason="out_of_stock",
        opened_at=now,
        last_refusal_at=now,
    )
    client.force_login(seller.owner)
    response = client.get(
        reverse("dashboard:shippability"),
        {"offer": offer.pk, "country": "DE", "postal_code": "18565"},
    )
    assert response.status_code == 200
    assert response.context["decision"].reason_code == "postal_code_excluded"
    assert [incident.offer_id for incident in response.context["incidents"]] == [offer.pk]
    assert b"42 refused attempts" in response.content
    assert [row["offer"].pk for row in response.context["coverage"]] == [offer.pk]


@pytest.mark.django_db
def test_another_sellers_offer_cannot_be_checked(client, seller, seller_b):
    theirs = OfferFactory(seller=seller_b)
    client.force_login(seller.owner)
    response = client.get(
        reverse("dashboard:shippability"),
        {"offer": theirs.pk, "country": "DE", "postal_code": "10115"},
    )
    assert response.status_code == 200
    assert response.context["decision"] is None
    assert "offer" in response.context["form"].errors

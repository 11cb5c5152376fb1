"""Every model in Django admin: its list, search and detail pages render for staff."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from tests.factories import OfferFactory
from tests.marketplace.helpers import place_order


@pytest.mark.django_db
def test_every_admin_changelist_and_search_renders(client, staff, shopper, seller):
    place_order(shopper, OfferFactory(seller=seller))
    client.force_login(staff)
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        response = client.get(url)
        assert response.status_code == 200, url
        if model_admin.search_fields:
            assert client.get(url, {"q": "x"}).status_code == 200, url
        first = model.objects.first()
        if first is not None:
            change = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[first.pk])
            assert client.get(change).status_code == 200, change


@pytest.mark.django_db
def test_admin_is_closed_to_non_staff(client, shopper):
    client.force_login(shopper)
    response = client.get(reverse("admin:marketplace_order_changelist"))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]

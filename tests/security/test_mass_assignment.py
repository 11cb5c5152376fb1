"""Every writable route of the API, found in the OpenAPI schema, refuses fields it does not take."""

from __future__ import annotations

import re
import uuid

import pytest
from drf_spectacular.generators import SchemaGenerator

from marketplace.models import Address, Offer, Order, User
from tests.conftest import client_for
from tests.factories import OfferFactory
from tests.marketplace.helpers import place_order

EXTRA = {
    "price": "0.01",
    "seller": 1,
    "stock": 999999,
    "status": "delivered",
    "score": 1000,
    "owner": 1,
}


def _writable_operations():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method in {"post", "put", "patch"} and "requestBody" in operation:
                yield path, method


def _snapshot():
    return (
        Order.objects.count(),
        sorted(Offer.objects.values_list("pk", "price", "stock", "seller_id")),
        sorted(Address.objects.values_list("pk", "owner_id", "city")),
        sorted(User.objects.values_list("pk", "is_staff", "is_active")),
    )


@pytest.mark.django_db
def test_no_writable_endpoint_accepts_extra_fields(shopper, seller):
    offer = OfferFactory(seller=seller)
    order = place_order(shopper, offer)
    operations = list(_writable_operations())
    assert len(operations) >= 20
    before = _snapshot()
    accepted = []
    for user in (shopper, seller.owner):
        client = client_for(user)
        for path, method in operations:
            url = re.sub(r"\{[^}]+\}", str(order.pk), path)
            response = getattr(client, method)(
                url, EXTRA, format="json", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex
            )
            if response.status_code < 400 or response.status_code >= 500:
                accepted.append((user.email, method, path, response.status_code))
            elif response.status_code == 400 and response.json()["code"] == "validation_error":
                fields = response.json()["fields"]
                assert set(EXTRA) & set(fields), (method, path, fields)
    assert accepted == []
    assert _snapshot() == before
    print(
        f"\nRELIABILITY | mass assignment | {len(operations)} writable operations x 2 personas x "
        f"{len(EXTRA)} extra fields ({', '.join(EXTRA)}): {len(accepted)} accepted, data unchanged"
    )

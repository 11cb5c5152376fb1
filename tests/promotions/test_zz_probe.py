from decimal import Decimal
import time
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from promotions import services
from tests.conftest import client_for
from tests.factories import OfferFactory
from tests.promotions.factories import CampaignFactory

@pytest.mark.django_db
def test_probe(shopper, seller):
    offer = OfferFactory(seller=seller, price=Decimal("30.00"), stock=10000)
    client = client_for(shopper)
    coupons = [services.coupon_issue_personal(CampaignFactory(percent=Decimal("10")), customer=shopper) for _ in range(3)]
    body = {"code": coupons[0].display_code, "lines": [{"offer_id": offer.pk, "quantity": 1}]}
    client.post("/api/coupons/validate/", body, format="json")
    with CaptureQueriesContext(connection) as q:
        r = client.post("/api/coupons/validate/", body, format="json")
    print("VALIDATE", r.status_code, len(q.captured_queries))
    for x in q.captured_queries: print("  ", x["sql"][:200])
    addr = shopper.addresses.get().pk
    for i, code in enumerate([None, coupons[1].code]):
        b = {"address_id": addr, "lines": [{"offer_id": offer.pk, "quantity": 1}], **({"coupon_code": code} if code else {})}
        with CaptureQueriesContext(connection) as q:
            r = client.post("/api/checkout/", b, format="json", HTTP_IDEMPOTENCY_KEY=f"k{i}")
        print("CHECKOUT", code, r.status_code, len(q.captured_queries))
        for x in q.captured_queries: print("  ", x["sql"][:200])

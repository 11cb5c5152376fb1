"""The batched metric sync: many sellers in a few statements, exactly what the one-seller sync
does, and two syncs of the same sellers at once open each violation once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from account_health import services
from account_health.models import Violation
from core.models import OutboxEvent
from ratings.selectors import Rate, RateMetrics
from tests.factories import SellerFactory
from tests.utils import parallel


def _metrics(seller_id, *, defects=0, late=0, total=100):
    return RateMetrics(
        seller_id=seller_id,
        computed_at=timezone.now(),
        order_defect=Rate(defects, total, 60),
        cancellation=Rate(0, total, 30),
        late_shipment=Rate(late, total, 30),
        valid_tracking=Rate(total, total, 30),
    )


def _open_automatic():
    return sorted(
        Violation.objects.filter(source="automatic")
        .exclude(status="resolved")
        .values_list("seller_id", "policy__code", "affected_orders", "is_repeat")
    )


@pytest.mark.django_db
def test_one_sync_opens_and_resolves_for_many_sellers_with_their_events():
    first, second, third = (SellerFactory() for _ in range(3))
    now = timezone.now()
    services.metric_violations_sync(third.pk, _metrics(third.pk, defects=5), now=now)
    services.metric_violations_sync(third.pk, _metrics(third.pk), now=now)  # resolved again
    services.metric_violations_sync(second.pk, _metrics(second.pk, defects=2), now=now)
    OutboxEvent.objects.all().delete()

    services.metric_violations_sync_many(
        {
            first.pk: _metrics(first.pk, defects=3, late=9),
            second.pk: _metrics(second.pk),
            third.pk: _metrics(third.pk, defects=4),
        },
        now=now + timedelta(hours=1),
    )

    assert _open_automatic() == sorted(
        [
            (first.pk, "order_defect_rate_above_target", 3, False),
            (first.pk, "late_shipment_rate_above_target", 9, False),
            (third.pk, "order_defect_rate_above_target", 4, True),  # again within the lookback
        ]
    )
    opened = Violation.objects.filter(source="automatic", opened_at=now + timedelta(hours=1))
    assert sorted(
        (e.payload["violation_id"], e.payload["seller_id"], e.payload["points"])
        for e in OutboxEvent.objects.filter(topic="violation.opened")
    ) == sorted(opened.values_list("pk", "seller_id", "points"))
    assert Violation.objects.get(seller=second, source="automatic").status == "resolved"
    assert list(OutboxEvent.objects.filter(topic="violation.resolved").values_list("topic")) == [
        ("violation.resolved",)
    ]
    assert opened.get(seller=first, policy__code="late_shipment_rate_above_target").facts == (
        "late_shipment_rate was 0.0900 (9 of 100 orders in 30 days)."
    )


@pytest.mark.django_db(transaction=True)
def test_two_syncs_of_the_same_sellers_at_once_open_each_violation_once():
    sellers = [SellerFactory().pk for _ in range(20)]
    metrics = {seller_id: _metrics(seller_id, defects=5, late=9) for seller_id in sellers}

    def sync(_index: int) -> None:
        try:
            services.metric_violations_sync_many(metrics)
        finally:
            connection.close()

    parallel(2, sync)  # re-raises what a thread raised
    assert len(_open_automatic()) == 40
    assert sorted(
        OutboxEvent.objects.filter(topic="violation.opened").values_list(
            "payload__violation_id", flat=True
        )
    ) == sorted(Violation.objects.values_list("pk", flat=True))

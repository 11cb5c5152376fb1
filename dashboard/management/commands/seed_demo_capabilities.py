"""Demo data of the capabilities, on top of seed_demo's marketplace (which calls this command)."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.core.management import BaseCommand
from django.utils import timezone

from account_health import services as health
from core import outbox
from core.errors import DomainError
from invitations import services as drops
from marketplace.choices import FulfilmentChannel
from marketplace.models import Offer, Seller, User
from promotions import services as promotions
from promotions.models import Campaign
from ratings import services as ratings

SEED = 20261123


class Command(BaseCommand):
    help = "A welcome campaign with codes, an open drop with requests, a violation, and ratings."

    def handle(self, *args: Any, **options: Any) -> None:
        if Campaign.objects.filter(name="Welcome 10 %").exists():
            return
        rng = random.Random(SEED)
        now = timezone.now()
        shoppers = list(User.objects.filter(email__startswith="shopper").order_by("pk")[:30])
        welcome = Campaign.objects.create(
            name="Welcome 10 %",
            kind="welcome",
            discount_type="percent",
            percent=Decimal(10),
            max_discount=Decimal(25),
            currency="EUR",
            min_order_value=Decimal(20),
            starts_at=now - timedelta(days=7),
            ends_at=now + timedelta(days=60),
        )
        for shopper in shoppers[:20]:
            promotions.coupon_issue_personal(welcome, customer=shopper)
        console = (
            Offer.objects.filter(fulfilment_channel=FulfilmentChannel.SELLER, seller__country="DE")
            .order_by("pk")
            .first()
        )
        if console is not None:
            Offer.objects.filter(pk=console.pk).update(stock=50)
            drop = drops.drop_create(
                offer=console,
                units=5,
                opens_at=now - timedelta(days=1),
                closes_at=now + timedelta(days=2),
                eligible_countries=["DE", "AT"],
            )
            for index, shopper in enumerate(shoppers):
                try:
                    drops.request_create(
                        drop.pk,
                        shopper,
                        ip_address=f"100.64.{index}.10",
                        user_agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0",
                        now=now - timedelta(hours=rng.randint(1, 20)),
                    )
                except DomainError:
                    continue  # outside the eligible countries: a real shopper is told so
        careless = Seller.objects.order_by("-pk").first()
        if careless is not None:
            health.violation_open(
                careless,
                policy_code="off_platform_contact",
                affected_orders=2,
                facts="Two buyers were asked to pay by bank transfer outside the marketplace.",
            )
        outbox.relay()  # ratings, account health and e-mails follow their events
        ratings.full_recompute(now=now)
        outbox.relay()
        self.stdout.write("Capability demo data: a campaign, a drop, ratings and account health.")

"""Builders for drops, customers and requests; time is always passed in."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from invitations import services
from marketplace.models import Order
from tests.factories import AddressFactory, OfferFactory, SellerFactory, UserFactory

BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"


def make_drop(
    *,
    units: int = 2,
    stock: int = 10,
    opens: datetime | None = None,
    closes: datetime | None = None,
    countries: tuple[str, ...] = ("DE",),
    limit_per_customer: int = 1,
    now: datetime | None = None,
):
    now = now or timezone.now()
    return services.drop_create(
        offer=OfferFactory(stock=stock),
        units=units,
        opens_at=opens or now - timedelta(hours=1),
        closes_at=closes or now + timedelta(hours=1),
        eligible_countries=list(countries),
        limit_per_customer=limit_per_customer,
        now=now,
    )


def customer(*, days_old: int = 400, delivered: int = 1, email: str | None = None, **address):
    """A shopper with a default address; by default an established one (aged, one delivery)."""
    extra = {"email": email} if email else {}
    user = UserFactory(date_joined=timezone.now() - timedelta(days=days_old), **extra)
    address.setdefault("line1", f"Gartenweg {user.pk}")
    AddressFactory(owner=user, **address)
    if delivered:
        seller = SellerFactory()
        now = timezone.now()
        Order.objects.bulk_create(
            [
                Order(
                    buyer=user,
                    seller=seller,
                    checkout_reference="00000000-0000-0000-0000-000000000000",
                    status="delivered",
                    subtotal=10,
                    total=10,
                    ship_name="N",
                    ship_line1="x",
                    ship_city="B",
                    ship_postal_code="10115",
                    ship_country="DE",
                    placed_at=now - timedelta(days=20),
                    ship_by=(now - timedelta(days=19)).date(),
                )
                for _ in range(delivered)
            ]
        )
    return user


def request(drop, user, *, ip="203.0.113.7", agent=BROWSER, device="", now=None):
    return services.request_create(
        drop.pk, user, ip_address=ip, user_agent=agent, device_id=device, now=now
    )


def close(drop, *, now: datetime | None = None):
    """End the request window (as the clock would) so round 1 may be drawn."""
    return services.drop_close_now(drop.pk, now=now or timezone.now())

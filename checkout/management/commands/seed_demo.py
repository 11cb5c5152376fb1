"""Demo data: shoppers, sellers, a catalogue and 2,000 orders over 400 days with realistic events.

Orders go through the real services (checkout, ship, deliver, cancel, messages, feedback, claims)
with a ``now=`` in the past, so every order has the outbox events the capabilities score.
Deterministic (seeded) and idempotent: it does nothing when the demo staff account exists,
unless ``--force``.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.management import BaseCommand, call_command, get_commands
from django.utils import timezone
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from checkout import services as checkout
from core.clock import add_business_days
from fulfillment.models import (
    ProductRestriction,
    ShippingRule,
    ShippingTemplate,
    Warehouse,
    WarehouseCoverage,
    WarehouseStock,
)
from fulfillment.services import ShippabilityRefused
from marketplace import services
from marketplace.choices import CancelledBy, FulfilmentChannel, RefundKind
from marketplace.models import Address, Category, Offer, Order, Product, Seller, User

PASSWORD = "demo-pass-123"  # noqa: S105 - a published demo password, printed on purpose
STAFF_EMAIL = "admin@demo.test"
SEED = 20261122
SHOPPERS = 200
SELLERS = 20
PRODUCTS = 500
ORDERS = 2000
DAYS = 400

CATEGORY_TREE = {
    "Electronics": {
        "Consoles": ["Handheld", "Home consoles"],
        "Audio": ["Headphones", "Speakers"],
        "Computers": ["Laptops", "Accessories"],
    },
    "Home": {"Kitchen": ["Cookware", "Coffee"], "Garden": ["Tools", "Plants"]},
    "Books": {"Fiction": ["Crime", "Fantasy"], "Non-fiction": ["History", "Science"]},
    "Sports": {"Outdoor": ["Camping", "Cycling"], "Fitness": ["Weights", "Yoga"]},
    "Toys": {"Games": ["Board games", "Puzzles"]},
}
ADDRESSES = [
    ("DE", "Berlin", "10115"),
    ("DE", "München", "80331"),
    ("DE", "Hamburg", "20095"),
    ("DE", "Köln", "50667"),
    ("AT", "Wien", "1010"),
    ("AT", "Graz", "8010"),
    ("CH", "Zürich", "8001"),
    ("FR", "Paris", "75001"),
    ("NL", "Amsterdam", "1012 AB"),
    ("GB", "London", "SW1A 1AA"),
    ("US", "New York", "10001"),
    ("PL", "Warszawa", "00-001"),
]
CARRIER_NUMBERS = {
    "dhl": lambda rng: "".join(rng.choice("0123456789") for _ in range(20)),
    "dpd": lambda rng: "".join(rng.choice("0123456789") for _ in range(14)),
    "ups": lambda rng: "1Z" + "".join(rng.choice("0123456789ABCDEFGHJK") for _ in range(16)),
    "other": lambda rng: "X" + "".join(rng.choice("0123456789") for _ in range(8)),
}
ADJECTIVES = [
    "Classic",
    "Pro",
    "Compact",
    "Deluxe",
    "Eco",
    "Ultra",
    "Smart",
    "Travel",
    "Mini",
    "Max",
]
NOUNS = ["Kit", "Set", "Edition", "Pack", "Series", "Model", "Bundle", "Line"]


class Command(BaseCommand):
    help = (
        "Seed demo data (idempotent): about 200 shoppers, 20 sellers, 500 products, 2,000 orders."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--force", action="store_true", help="Seed even if demo data exists.")
        parser.add_argument("--orders", type=int, default=ORDERS)

    def handle(self, *args: Any, force: bool = False, orders: int = ORDERS, **options: Any) -> None:
        if User.objects.filter(email=STAFF_EMAIL).exists() and not force:
            self.stdout.write("Demo data exists; nothing to do (use --force to add more).")
            self._print_logins()
            return
        rng = random.Random(SEED)
        now = timezone.now()
        with Progress(
            TextColumn("{task.description:<12}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        ) as progress:
            shoppers, sellers = self._people(rng, now, progress)
            offers = self._catalogue(rng, sellers, progress)
            self._fulfilment(rng, sellers, offers)
            self._orders(rng, now, shoppers, offers, orders, progress)
        for name in sorted(get_commands()):
            if name.startswith("seed_demo_"):
                call_command(name)
        self._print_logins()

    def _people(
        self, rng: random.Random, now: datetime, progress: Progress
    ) -> tuple[list[User], list[Seller]]:
        password = make_password(
            PASSWORD
        )  # one Argon2 hash for all demo accounts: seconds, not minutes
        task = progress.add_task("people", total=1 + SELLERS + SHOPPERS)
        User.objects.create(
            email=STAFF_EMAIL,
            password=password,
            full_name="Demo Staff",
            is_staff=True,
            is_superuser=True,
            date_joined=now - timedelta(days=900),
        )
        progress.advance(task)
        sellers = []
        for index in range(1, SELLERS + 1):
            owner = User.objects.create(
                email=f"seller{index}@demo.test",
                password=password,
                full_name=f"Seller Owner {index}",
                date_joined=now - timedelta(days=rng.randint(420, 900)),
                language="de" if index % 3 == 0 else "en",
            )
            sellers.append(
                Seller.objects.create(
                    owner=owner,
                    display_name=f"{rng.choice(ADJECTIVES)} Goods {index}",
                    country=rng.choice(["DE", "DE", "AT", "NL"]),
                )
            )
            progress.advance(task)
        shoppers = []
        for index in range(1, SHOPPERS + 1):
            shopper = User.objects.create(
                email=f"shopper{index}@demo.test",
                password=password,
                full_name=f"Shopper {index}",
                date_joined=now - timedelta(days=rng.randint(1, 800)),
                language="de" if index % 2 == 0 else "en",
            )
            for number in range(rng.choice([1, 1, 2])):
                country, city, postal_code = rng.choice(
                    ADDRESSES[:10] if number == 0 else ADDRESSES
                )
                Address.objects.create(
                    owner=shopper,
                    name=shopper.full_name,
                    line1=f"Demo Street {rng.randint(1, 200)}",
                    city=city,
                    postal_code=postal_code,
                    country=country,
                    is_po_box=rng.random() < 0.03,
                    is_default=number == 0,
                )
            shoppers.append(shopper)
            progress.advance(task)
        return shoppers, sellers

    def _catalogue(
        self, rng: random.Random, sellers: list[Seller], progress: Progress
    ) -> list[Offer]:
        leaves: list[Category] = []
        for top, middles in CATEGORY_TREE.items():
            root = Category.objects.create(name=top, slug=_slug(top))
            for middle, bottoms in middles.items():
                branch = Category.objects.create(name=middle, slug=_slug(middle), parent=root)
                leaves += [
                    Category.objects.create(name=bottom, slug=_slug(bottom), parent=branch)
                    for bottom in bottoms
                ]
        task = progress.add_task("catalogue", total=PRODUCTS)
        offers = []
        for index in range(1, PRODUCTS + 1):
            category = rng.choice(leaves)
            product = Product.objects.create(
                category=category,
                title=f"{rng.choice(ADJECTIVES)} {category.name} {rng.choice(NOUNS)} {index}",
                description=f"A demo product in {category.path}.",
                brand=rng.choice(["Acme", "Globex", "Initech", "Umbrella", "Hooli"]),
                is_hazardous=rng.random() < 0.03,
            )
            for seller in rng.sample(sellers, rng.choice([1, 1, 2])):
                offers.append(
                    Offer.objects.create(
                        seller=seller,
                        product=product,
                        price=Decimal(rng.randint(299, 49999)) / 100,
                        stock=100_000,
                        fulfilment_channel=(
                            FulfilmentChannel.PLATFORM
                            if rng.random() < 0.3
                            else FulfilmentChannel.SELLER
                        ),
                        handling_days=rng.choice([1, 1, 2, 3]),
                    )
                )
            progress.advance(task)
        return offers

    def _fulfilment(self, rng: random.Random, sellers: list[Seller], offers: list[Offer]) -> None:
        """Platform warehouses with coverage and stock; a shipping template for every seller."""
        warehouses = {
            "ber1": ("Berlin", "DE", [("DE", 1, 2), ("AT", 2, 3), ("PL", 2, 4), ("NL", 2, 3)]),
            "muc1": ("München", "DE", [("DE", 1, 2), ("AT", 1, 2), ("CH", 2, 4)]),
            "par1": ("Paris", "FR", [("FR", 1, 2), ("GB", 2, 4)]),
        }
        created = []
        for code, (city, country, areas) in warehouses.items():
            warehouse = Warehouse.objects.create(
                code=code, name=f"Warehouse {city}", city=city, country=country
            )
            WarehouseCoverage.objects.bulk_create(
                [
                    WarehouseCoverage(
                        warehouse=warehouse, country=c, transit_days_min=low, transit_days_max=high
                    )
                    for c, low, high in areas
                ]
            )
            created.append(warehouse)
        WarehouseStock.objects.bulk_create(
            [
                WarehouseStock(warehouse=warehouse, offer=offer, quantity=rng.choice([0, 25, 80]))
                for offer in offers
                if offer.fulfilment_channel == FulfilmentChannel.PLATFORM
                for warehouse in created
            ]
        )
        for seller in sellers:
            template = ShippingTemplate.objects.create(
                seller=seller,
                name="Standard",
                is_default=True,
                ships_to_po_boxes=rng.random() < 0.7,
            )
            destinations = ["DE", "AT", "CH", "FR", "NL", "GB", "US", "PL"]
            ShippingRule.objects.bulk_create(
                [
                    ShippingRule(
                        template=template,
                        country=c,
                        transit_days_min=1 if c == seller.country else 2,
                        transit_days_max=3 if c in {"DE", "AT", "NL"} else 6,
                    )
                    for c in destinations
                    if c == seller.country or rng.random() < 0.85
                ]
                # Island postal codes that many German sellers leave out (Hiddensee, Helgoland).
                + [
                    ShippingRule(
                        template=template, country="DE", postal_prefix=prefix, is_excluded=True
                    )
                    for prefix in ("18565", "27498")
                    if rng.random() < 0.5
                ]
            )
        ProductRestriction.objects.create(
            country="US", hazardous_only=True, reason="dangerous goods are not shipped overseas"
        )

    def _orders(
        self,
        rng: random.Random,
        now: datetime,
        shoppers: list[User],
        offers: list[Offer],
        count: int,
        progress: Progress,
    ) -> None:
        by_seller: dict[int, list[Offer]] = {}
        for offer in offers:
            by_seller.setdefault(offer.seller_id, []).append(offer)
        # Some sellers are careless: they ship late, reply slowly and collect complaints.
        careless = set(rng.sample(sorted(by_seller), k=max(1, len(by_seller) // 5)))
        task = progress.add_task("orders", total=count)
        placed = 0
        while placed < count:
            placed_at = now - timedelta(days=rng.uniform(0, DAYS), minutes=rng.randint(0, 600))
            buyer = rng.choice(shoppers)
            seller_id = rng.choice(sorted(by_seller))
            chosen = rng.sample(
                by_seller[seller_id], k=min(len(by_seller[seller_id]), rng.choice([1, 1, 2]))
            )
            try:
                order = checkout.checkout_place(
                    buyer,
                    lines=[
                        checkout.CartLine(offer.pk, rng.choice([1, 1, 1, 2])) for offer in chosen
                    ],
                    address_id=buyer.addresses.get(is_default=True).pk,
                    now=placed_at,
                ).orders[0]
            except ShippabilityRefused:
                continue  # a real shopper would pick another offer; so do we
            self._lifecycle(rng, now, order, buyer, seller_id in careless)
            placed += 1
            progress.advance(task)
        for offer in offers:  # realistic stock once the history is written
            Offer.objects.filter(pk=offer.pk).update(stock=rng.choice([0, 3, 12, 40, 150]))

    def _lifecycle(
        self, rng: random.Random, now: datetime, order: Order, buyer: User, careless: bool
    ) -> None:
        seller = order.seller
        placed = order.placed_at
        if rng.random() < (0.06 if careless else 0.02):
            who = CancelledBy.SELLER if rng.random() < 0.6 else CancelledBy.BUYER
            actor = seller.owner if who == CancelledBy.SELLER else buyer
            services.order_cancel(
                order.pk, by=who, actor=actor, reason="demo", now=placed + timedelta(hours=5)
            )
            return
        if rng.random() < (0.25 if careless else 0.1):
            sent = placed + timedelta(hours=rng.randint(1, 30))
            if sent < now:
                message = services.message_send(
                    buyer, order_id=order.pk, body="Where is my parcel?", now=sent
                )
                reply_after = timedelta(
                    hours=rng.choice([2, 5, 20, 30, 50] if careless else [1, 2, 4, 8, 20])
                )
                if rng.random() < 0.95 and sent + reply_after < now:
                    services.message_reply(
                        seller,
                        message_id=message.pk,
                        body="It is on its way.",
                        now=sent + reply_after,
                    )
        ship_deadline = datetime.combine(
            order.ship_by, datetime.min.time(), tzinfo=placed.tzinfo
        ) + timedelta(hours=18)
        late = rng.random() < (0.15 if careless else 0.03)
        shipped_at = (
            ship_deadline + timedelta(days=rng.randint(1, 3))
            if late
            else placed + (ship_deadline - placed) * rng.uniform(0.1, 0.9)
        )
        if shipped_at > now:
            return
        carrier = rng.choice(
            ["dhl", "dhl", "dpd", "ups", "other"] if careless else ["dhl", "dhl", "dpd", "ups"]
        )
        services.order_ship(
            seller,
            order_id=order.pk,
            carrier=carrier,
            tracking_number=CARRIER_NUMBERS[carrier](rng),
            now=shipped_at,
        )
        delivered_day = add_business_days(
            shipped_at.date(), rng.choice([1, 1, 2, 2, 3, 5, 7] if careless else [1, 1, 1, 2, 2, 3])
        )
        delivered_at = datetime.combine(
            delivered_day, datetime.min.time(), tzinfo=placed.tzinfo
        ) + timedelta(hours=rng.randint(9, 18))
        if delivered_at > now:
            return
        services.order_deliver(order.pk, now=delivered_at)
        if rng.random() < 0.35:
            stars = rng.choice([1, 2, 3, 4, 5, 5] if careless else [3, 4, 5, 5, 5, 5])
            left_at = delivered_at + timedelta(days=rng.randint(0, 10))
            if left_at < now:
                services.feedback_leave(buyer, order_id=order.pk, rating=stars, now=left_at)
        if rng.random() < (0.04 if careless else 0.005):
            filed = delivered_at + timedelta(days=rng.randint(1, 20))
            if filed < now:
                services.claim_file(
                    buyer, order_id=order.pk, reason="Item not as described", now=filed
                )
        if rng.random() < (0.02 if careless else 0.003):
            filed = delivered_at + timedelta(days=rng.randint(5, 40))
            if filed < now:
                services.chargeback_file(
                    order.pk, amount=order.total, is_seller_fault=rng.random() < 0.7, now=filed
                )
        if rng.random() < (0.06 if careless else 0.02):
            issued = delivered_at + timedelta(days=rng.randint(1, 10))
            if issued < now:
                services.refund_issue(
                    order.pk,
                    amount=(order.total / 2).quantize(Decimal("0.01")),
                    kind=rng.choice([RefundKind.REFUND, RefundKind.CONCESSION]),
                    reason="demo",
                    now=issued,
                )

    def _print_logins(self) -> None:
        self.stdout.write(
            f"Demo logins (password {PASSWORD}): staff {STAFF_EMAIL}, seller seller1@demo.test, "
            "shopper shopper1@demo.test"
        )


def _slug(name: str) -> str:
    return name.lower().replace(" ", "-")

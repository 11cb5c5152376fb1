"""Bot screening measured on a labelled synthetic population: recall on bots, false positives on
real customers (aged accounts with deliveries, and genuinely new customers)."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from invitations import services
from invitations.constants import TARGET_BOT_RECALL, TARGET_FALSE_POSITIVE_RATE
from invitations.models import InvitationRequest
from marketplace.models import Address, Order, User
from tests.factories import OfferFactory, SellerFactory

BROWSERS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/141.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Version/18.0 Safari/605",
    "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0",
]


def _account(email, joined, street, postal="10115"):
    user = User.objects.create(email=email, password="!", date_joined=joined)
    Address.objects.create(
        owner=user,
        name="N",
        line1=street,
        city="Berlin",
        postal_code=postal,
        country="DE",
        is_default=True,
    )
    return user


@pytest.mark.django_db
def test_screening_recall_and_false_positive_rate(capsys):
    rng = random.Random(42)
    now = timezone.now()
    opens = now - timedelta(hours=2)
    drop = services.drop_create(
        offer=OfferFactory(stock=100),
        units=20,
        opens_at=opens,
        closes_at=now + timedelta(hours=1),
        eligible_countries=["DE"],
    )
    seller = SellerFactory()
    population: list[tuple[User, str, str, str, bool]] = []  # user, ip, agent, device, is_bot

    for index in range(300):  # real, established: aged, with deliveries
        user = _account(
            f"real{index}@example.org",
            now - timedelta(days=rng.randint(30, 900)),
            f"Lindenallee {index}",
        )
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
                for _ in range(rng.randint(1, 4))
            ]
        )
        population.append(
            (
                user,
                f"100.{index // 200}.{index % 200}.{rng.randint(2, 250)}",
                rng.choice(BROWSERS),
                f"dev-r{index}",
                False,
            )
        )
    for index in range(40):  # real, genuinely new: a fresh account and nothing bought yet
        user = _account(
            f"newbie{index}@example.org",
            now - timedelta(days=rng.randint(0, 5), hours=rng.randint(0, 23)),
            f"Birkenweg {index}",
        )
        population.append(
            (
                user,
                f"101.{index}.7.{rng.randint(2, 250)}",
                rng.choice(BROWSERS),
                f"dev-n{index}",
                False,
            )
        )

    burst_start = opens - timedelta(days=2)
    for index in range(160):  # scripted bots in four styles
        joined = burst_start + timedelta(seconds=rng.randint(0, 3000))
        style = index % 4
        if style == 0:  # one network, fresh accounts
            user = _account(f"bot{index}@example.net", joined, f"Teststr {index}")
            ip, agent, device = f"45.12.9.{index % 250}", rng.choice(BROWSERS), f"dev-b{index}"
        elif style == 1:  # shared drop addresses with small spelling changes
            street = ["Musterstraße 5", "musterstrasse 5", "Musterstr. 5", "MUSTERSTRASSE  5"][
                index % 4
            ]
            user = _account(f"bot{index}@example.net", joined, street, postal="10117")
            ip, agent, device = (
                f"77.{index}.3.{rng.randint(2, 250)}",
                rng.choice(BROWSERS),
                f"dev-b{index}",
            )
        elif style == 2:  # automation clients and disposable mail
            user = _account(f"bot{index}@mailinator.com", joined, f"Bahnhofstr {index}")
            ip, agent, device = f"88.{index}.1.1", "python-requests/2.32.3", ""
        else:  # careful bots: unique everything, but created in a burst before the drop
            user = _account(f"bot{index}@example.net", joined, f"Ringstr {index}")
            ip, agent, device = (
                f"91.{index}.2.{rng.randint(2, 250)}",
                rng.choice(BROWSERS),
                f"dev-b{index}",
            )
        population.append((user, ip, agent, device, True))

    rng.shuffle(population)
    request_time = opens + timedelta(minutes=30)
    for user, ip, agent, device, _is_bot in population:
        services.request_create(
            drop.pk, user, ip_address=ip, user_agent=agent, device_id=device, now=request_time
        )
    services.screening_batch(drop)

    states = dict(InvitationRequest.objects.filter(drop=drop).values_list("customer_id", "state"))
    bots = [user for user, *_rest, is_bot in population if is_bot]
    real = [user for user, *_rest, is_bot in population if not is_bot]
    recall = sum(states[u.pk] == "screened_out" for u in bots) / len(bots)
    false_positive = sum(states[u.pk] == "screened_out" for u in real) / len(real)
    with capsys.disabled():
        print(
            f"\nbot screening: recall {recall:.1%} on {len(bots)} bots, "
            f"false positives {false_positive:.1%} on {len(real)} real customers (40 of them new)"
        )
    assert recall >= TARGET_BOT_RECALL
    assert false_positive <= TARGET_FALSE_POSITIVE_RATE

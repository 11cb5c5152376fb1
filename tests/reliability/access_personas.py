"""The people of the access matrix, the data they own, and the tools to see that nobody else's
data was read or written.

Shopper A's and seller A's records get ids from reserved high ranges and text markers, so a body
that mentions them is found by a plain search, whoever it was served to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import connection
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.authtoken.models import Token

from account_health import services as health
from account_health.models import Policy
from invitations import services as drops
from marketplace import services as kernel
from marketplace.choices import OrderStatus, SellerStatus
from marketplace.models import Order
from promotions import services as promotions
from tests.factories import AddressFactory, OfferFactory, SellerFactory, UserFactory
from tests.fulfillment.factories import template
from tests.marketplace.helpers import place_order
from tests.promotions.factories import CampaignFactory

PERSONAS = (
    "anonymous",
    "shopper_a",
    "shopper_b",
    "seller_a",
    "seller_b",
    "staff_without_permission",
    "deactivated_user",
    "deactivated_seller",
)
# Each of A's tables starts its ids here, far above anything the other fixtures create.
_RESERVED_IDS = {
    "marketplace_address": 9_100_000,
    "marketplace_order": 9_200_000,
    "marketplace_buyermessage": 9_300_000,
    "invitations_invitationrequest": 9_400_000,
    "account_health_violation": 9_500_000,
    "fulfillment_shippingtemplate": 9_700_000,
}
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"


@dataclass
class Persona:
    name: str
    user: Any = None
    token: str | None = None
    session: str | None = None

    @property
    def is_signed_in(self) -> bool:
        """Credentials that should still work: deactivated people hold stale ones only."""
        return self.user is not None and not self.name.startswith("deactivated")

    @property
    def is_seller(self) -> bool:
        return self.name in ("seller_a", "seller_b")


@dataclass
class World:
    personas: dict[str, Persona]
    ids: dict[str, int]
    coupon_code: str
    # Text or ids that only the listed personas may ever see in a body.
    secrets: dict[str, tuple[str, frozenset[str]]] = field(default_factory=dict)

    def secret_leaks(self, persona: str, body: str) -> list[str]:
        return [
            name
            for name, (pattern, allowed) in self.secrets.items()
            if persona not in allowed and re.search(pattern, body)
        ]


def _reserve_ids() -> None:
    with connection.cursor() as cursor:
        for table, start in _RESERVED_IDS.items():
            cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", [table, start])


def _token(user) -> str:
    return Token.objects.get_or_create(user=user)[0].key


def _session(user) -> str:
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def _persona(name: str, user) -> Persona:
    return Persona(name, user, _token(user), _session(user))


def build_world() -> World:
    """Everyone B (and the staff member) first, then A's records from the reserved id ranges."""
    Policy.objects.get_or_create(
        code="access_matrix_policy",
        defaults={
            "name": "Access matrix policy",
            "default_severity": "high",
            "description": "A policy of the access matrix.",
            "how_to_fix": "Fix it.",
        },
    )
    shopper_b = UserFactory(email="matrix.shopper.b@example.test")
    AddressFactory(owner=shopper_b, line1="Marienplatz 2", city="München", postal_code="80331")
    seller_b = SellerFactory(owner=UserFactory(email="matrix.seller.b@example.test"))
    template(seller_b)
    offer_b = OfferFactory(seller=seller_b, stock=20)
    staff = UserFactory(email="matrix.staff@example.test", is_staff=True)
    deactivated_user = UserFactory(email="matrix.gone@example.test")
    AddressFactory(owner=deactivated_user)
    deactivated_seller = SellerFactory(owner=UserFactory(email="matrix.gone.seller@example.test"))
    place_order(shopper_b, offer_b)

    _reserve_ids()
    shopper_a = UserFactory(email="matrix.shopper.a@example.test")
    address_a = AddressFactory(
        owner=shopper_a, name="Alice Secretname", line1="Geheimweg 7", city="Berlin"
    )
    seller_a = SellerFactory(owner=UserFactory(email="matrix.seller.a@example.test"))
    template_a = template(seller_a)
    template_a.name = "Seller A secret template"
    template_a.save(update_fields=["name"])
    offer_a = OfferFactory(seller=seller_a, stock=20)
    placed = place_order(shopper_a, offer_a)
    delivered = place_order(shopper_a, offer_a)
    Order.objects.filter(pk=delivered.pk).update(
        status=OrderStatus.DELIVERED, delivered_at=timezone.now() - timedelta(days=1)
    )
    message = kernel.message_send(shopper_a, order_id=placed.pk, body="Alice asks quietly")
    violation = health.violation_open(
        seller_a, policy_code="access_matrix_policy", facts="Seller A secret facts"
    )
    now = timezone.now()
    drop = drops.drop_create(
        offer=OfferFactory(seller=seller_a, stock=5),
        units=1,
        opens_at=now - timedelta(hours=1),
        closes_at=now + timedelta(hours=1),
        eligible_countries=["DE"],
        limit_per_customer=1,
        now=now,
    )
    drop_request, _created = drops.request_create(
        drop.pk, shopper_a, ip_address="203.0.113.7", user_agent=BROWSER, now=now
    )
    coupon = promotions.coupon_issue_personal(CampaignFactory(), customer=shopper_a)

    people = {
        "shopper_a": shopper_a,
        "shopper_b": shopper_b,
        "seller_a": seller_a.owner,
        "seller_b": seller_b.owner,
        "staff_without_permission": staff,
        "deactivated_user": deactivated_user,
        "deactivated_seller": deactivated_seller.owner,
    }
    personas = {"anonymous": Persona("anonymous")}
    personas.update({name: _persona(name, user) for name, user in people.items()})
    both_a = frozenset({"shopper_a", "seller_a"})
    world = World(
        personas=personas,
        ids={
            "address": address_a.pk,
            "order": placed.pk,
            "delivered_order": delivered.pk,
            "message": message.pk,
            "violation": violation.pk,
            "template": template_a.pk,
            "offer": offer_a.pk,
            "product": offer_a.product_id,
            "seller": seller_a.pk,
            "drop": drop.pk,
            "drop_request": drop_request.pk,
            "buyer": shopper_a.pk,
            "offer_b": offer_b.pk,
        },
        coupon_code=coupon.display_code,
        secrets={
            "shopper A's address id": (rf"\b{address_a.pk}\b", frozenset({"shopper_a"})),
            "shopper A's address line": ("Geheimweg 7", both_a),
            "shopper A's name": ("Alice Secretname", both_a),
            "shopper A's order id": (rf"\b{placed.pk}\b", both_a),
            "shopper A's delivered order id": (rf"\b{delivered.pk}\b", both_a),
            "shopper A's message": ("Alice asks quietly", both_a),
            "shopper A's message id": (rf"\b{message.pk}\b", both_a),
            "shopper A's e-mail": ("matrix.shopper.a@", both_a),
            "shopper A's drop request id": (rf"\b{drop_request.pk}\b", frozenset({"shopper_a"})),
            "shopper A's coupon": (re.escape(coupon.display_code), frozenset({"shopper_a"})),
            "seller A's violation id": (rf"\b{violation.pk}\b", frozenset({"seller_a"})),
            "seller A's violation facts": ("Seller A secret facts", frozenset({"seller_a"})),
            "seller A's template id": (rf"\b{template_a.pk}\b", frozenset({"seller_a"})),
            "seller A's template name": ("Seller A secret template", frozenset({"seller_a"})),
        },
    )
    # Deactivation after the credentials were handed out: the stale token and session must die.
    deactivated_user.is_active = False
    deactivated_user.save(update_fields=["is_active"])
    kernel.seller_set_status(
        deactivated_seller.pk, status=SellerStatus.DEACTIVATED, reason="matrix", actor=staff
    )
    return world


# --- Routes ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    pattern: str
    name: str
    callback: Any


def all_routes() -> list[Route]:
    """Every URL the project serves, straight from the resolver."""

    def walk(patterns, prefix: str, namespace: str | None):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                yield from walk(
                    entry.url_patterns, prefix + str(entry.pattern), entry.namespace or namespace
                )
            elif isinstance(entry, URLPattern):
                name = entry.name or ""
                qualified = f"{namespace}:{name}" if namespace and name else name
                yield Route(prefix + str(entry.pattern), qualified, entry.callback)

    return list(walk(get_resolver().url_patterns, "", None))


# --- The database, before and after ---------------------------------------------------------------

# Bookkeeping of the caller's own request, not anybody's data: a session row written by the login
# page, an idempotency record holding the caller's own refused answer, axes' login attempts, and
# the count and staff signal of the caller's own failed coupon entries (the brake on guessing).
_NOT_DATA = {"django_session", "core_idempotencyrecord", "axes_accessattempt", "axes_accesslog"}
_NOT_DATA |= {"axes_accessfailurelog", "axes_accessattemptexpiration"}
_NOT_DATA |= {"promotions_codefailures", "promotions_couponmisuse"}


def _data_tables() -> list[str]:
    tables = {model._meta.db_table for model in apps.get_models(include_auto_created=True)}
    return sorted(tables - _NOT_DATA)


class WriteCounter:
    """Rows inserted, updated or deleted per table so far in this transaction, from PostgreSQL's
    own per-transaction statistics: a write shows even when it was undone again, and reading the
    counters costs one small query instead of hashing every table."""

    def __init__(self) -> None:
        self.tables = _data_tables()

    def take(self) -> dict[str, int]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_xact_user_tables"
                " WHERE relname = ANY(%s)",
                [self.tables],
            )
            return dict(cursor.fetchall())

    @staticmethod
    def changed(before: dict[str, int], after: dict[str, int]) -> list[str]:
        return sorted(table for table in after if after[table] != before.get(table, 0))


# --- Over real HTTP -------------------------------------------------------------------------------

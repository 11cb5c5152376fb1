"""Reads of the shared kernel. A function that takes a client-supplied id also takes its owner."""

from __future__ import annotations

from django.db import connection
from django.db.models import Prefetch, Q, QuerySet

from marketplace.choices import SellerStatus
from marketplace.models import Address, BuyerMessage, Category, Offer, Order, Product, Seller, User


def category_with_descendants(category_id: int) -> QuerySet[Category]:
    category = Category.objects.filter(pk=category_id).only("path").first()
    if category is None:
        return Category.objects.none()
    return Category.objects.filter(Q(path=category.path) | Q(path__startswith=f"{category.path}/"))


def product_list(*, category_id: int | None = None, search: str | None = None) -> QuerySet[Product]:
    products = Product.objects.filter(is_active=True).select_related("category")
    if category_id is not None:
        products = products.filter(category__in=category_with_descendants(category_id))
    if search:
        for word in search.split()[:5]:
            products = products.filter(Q(title__icontains=word) | Q(brand__icontains=word))
    return products.order_by("title", "pk")


def buyable_offers() -> QuerySet[Offer]:
    """Offers a shopper may see: active, of an active product, by an active seller."""
    return Offer.objects.filter(
        is_active=True, product__is_active=True, seller__status=SellerStatus.ACTIVE
    ).select_related("seller")


def product_detail(product_id: int) -> Product | None:
    return (
        Product.objects.filter(pk=product_id, is_active=True)
        .select_related("category")
        .prefetch_related(Prefetch("offers", queryset=buyable_offers().order_by("price", "pk")))
        .first()
    )


def address_list(owner: User) -> QuerySet[Address]:
    return Address.objects.filter(owner=owner).order_by("-is_default", "-created_at")


def address_get(owner: User, address_id: int) -> Address | None:
    return Address.objects.filter(owner=owner, pk=address_id).first()


def default_address(owner: User) -> Address | None:
    return Address.objects.filter(owner=owner, is_default=True).first()


def default_address_facts(owner_id: int) -> tuple[str, str, bool] | None:
    """(country, postal code, PO box) of the default address, in one cheap statement: the product
    page asks for it on every view and the ORM's query building would cost more than the query."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT country, postal_code, is_po_box FROM marketplace_address"
            " WHERE owner_id = %s AND is_default LIMIT 1",
            [owner_id],
        )
        row = cursor.fetchone()
    return (row[0], row[1], row[2]) if row else None


def _order_queryset() -> QuerySet[Order]:
    return Order.objects.select_related("seller").prefetch_related(
        "lines", Prefetch("messages", queryset=BuyerMessage.objects.order_by("sent_at"))
    )


def buyer_orders(buyer: User, *, status: str | None = None) -> QuerySet[Order]:
    orders = _order_queryset().filter(buyer=buyer)
    if status:
        orders = orders.filter(status=status)
    return orders.order_by("-placed_at", "-pk")


def buyer_order(buyer: User, order_id: int) -> Order | None:
    return _order_queryset().filter(buyer=buyer, pk=order_id).first()


def seller_for_user(user: User) -> Seller | None:
    if not user.is_authenticated:
        return None
    return Seller.objects.filter(owner=user).first()


def seller_orders(seller: Seller, *, status: str | None = None) -> QuerySet[Order]:
    orders = _order_queryset().select_related("buyer").filter(seller=seller)
    if status:
        orders = orders.filter(status=status)
    return orders.order_by("-placed_at", "-pk")


def seller_order(seller: Seller, order_id: int) -> Order | None:
    return _order_queryset().filter(seller=seller, pk=order_id).first()


def seller_offers(seller: Seller) -> QuerySet[Offer]:
    return Offer.objects.filter(seller=seller).select_related("product").order_by("pk")


def seller_offer(seller: Seller, offer_id: int) -> Offer | None:
    return Offer.objects.filter(seller=seller, pk=offer_id).select_related("product").first()

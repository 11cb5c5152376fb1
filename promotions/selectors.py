"""Reads of promotions: segments, code lookups, the wallet, campaign statistics."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple, TypeVar

from django.contrib.postgres.expressions import ArraySubquery
from django.db import DEFAULT_DB_ALIAS
from django.db.models import (
    Count,
    DecimalField,
    Max,
    Model,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce

from core.prepared import PreparedStatement
from marketplace.authentication import USER_WIDTH, user_columns, user_from_row
from marketplace.choices import OrderStatus
from marketplace.models import Category, Offer, Product, User
from promotions.choices import Segment
from promotions.constants import (
    INACTIVE_MIN_DAYS,
    LOYAL_MIN_DELIVERED_ORDERS,
    NEW_CUSTOMER_MAX_AGE_DAYS,
)
from promotions.models import Campaign, Coupon, CouponHolder, IssueRun, Redemption

LOYALTY_WINDOW = timedelta(days=365)
_M = TypeVar("_M", bound=Model)


def segment_customers(run: IssueRun, *, now: datetime) -> QuerySet[User]:
    """The customers of a run's segment, evaluated now (at issue time), ordered by id.

    Segments are of shoppers: staff and seller accounts are in none of them (an explicit list
    names whom it means). Accounts that did not exist yet at ``now`` are in none either.
    """
    if run.segment == Segment.EXPLICIT:
        return User.objects.filter(
            is_active=True, pk__in=run.explicit_customers.values("pk")
        ).order_by("pk")
    customers = User.objects.filter(
        is_active=True, is_staff=False, seller__isnull=True, date_joined__lte=now
    )
    if run.segment == Segment.NEW:
        days = run.parameter_days or NEW_CUSTOMER_MAX_AGE_DAYS
        customers = customers.filter(date_joined__gte=now - timedelta(days=days)).exclude(
            orders__isnull=False
        )
    elif run.segment == Segment.LOYAL:
        minimum = run.parameter_orders or LOYAL_MIN_DELIVERED_ORDERS
        customers = customers.annotate(
            delivered=Count(
                "orders",
                filter=Q(
                    orders__status=OrderStatus.DELIVERED,
                    orders__delivered_at__gte=now - LOYALTY_WINDOW,
                    orders__delivered_at__lte=now,
                ),
            )
        ).filter(delivered__gte=minimum)
    else:
        days = run.parameter_days or INACTIVE_MIN_DAYS
        customers = customers.annotate(last_order=Max("orders__placed_at")).filter(
            last_order__lte=now - timedelta(days=days)
        )
    return customers.order_by("pk")


def eligible_category_paths() -> ArraySubquery:
    """The paths of a holder's campaign's eligible categories, as one column of the holder's row."""
    return ArraySubquery(
        Campaign.eligible_categories.through.objects.filter(
            campaign_id=OuterRef("coupon__campaign_id")
        ).values("category__path")
    )


def _columns(
    model: type[Model], alias: str, *, leave_out: frozenset[str] = frozenset()
) -> tuple[list[str], str]:
    """A model's column list in field order (``from_db`` wants it so), less ``leave_out``."""
    fields = [field for field in model._meta.concrete_fields if field.name not in leave_out]
    return [field.attname for field in fields], ", ".join(f"{alias}.{f.column}" for f in fields)


# The holding, its code and campaign load with what the rules and the quote read; the rest
# (names, bookkeeping times) stays deferred: each column left out is one less to convert.
_HOLDER_NAMES, _HOLDER_SQL = _columns(CouponHolder, "holder", leave_out=frozenset({"emailed_at"}))
_COUPON_NAMES, _COUPON_SQL = _columns(
    Coupon, "coupon", leave_out=frozenset({"created_at", "updated_at", "customer"})
)
_CAMPAIGN_NAMES, _CAMPAIGN_SQL = _columns(
    Campaign,
    "campaign",
    leave_out=frozenset({"created_at", "updated_at", "name", "kind", "uses_per_code"}),
)
# Every checkout with a code runs this: as one hand-written statement it costs a third of what the
# ORM spends compiling the same three-table select with its two subqueries. ``{customer}`` is the
# account's id: a parameter for checkout, the token's account in the validation read.
_HOLDER_FOR_CODE = f"""
SELECT {_HOLDER_SQL}, {_COUPON_SQL}, {_CAMPAIGN_SQL},
    (SELECT failures FROM promotions_codefailures
     WHERE customer_id = {{customer}} AND hour = %(hour)s),
    ARRAY(SELECT category.path
          FROM promotions_campaign_eligible_categories eligible
          JOIN marketplace_category category ON category.id = eligible.category_id
          WHERE eligible.campaign_id = campaign.id)
FROM promotions_couponholder holder
JOIN promotions_coupon coupon ON coupon.id = holder.coupon_id
JOIN promotions_campaign campaign ON campaign.id = coupon.campaign_id
WHERE coupon.code = %(code)s AND holder.customer_id = {{customer}}
"""  # noqa: S608 - column lists come from the models, values are parameters
_HOLDER_FOR_CODE_STATEMENT = PreparedStatement(
    _HOLDER_FOR_CODE.format(customer="%(customer_id)s"),
    {"customer_id": "bigint", "hour": "timestamptz", "code": "text"},
)
_FOUND_WIDTH = len(_HOLDER_NAMES) + len(_COUPON_NAMES) + len(_CAMPAIGN_NAMES) + 2
# The whole read of a validation in one round trip: the caller's API token to their account, the
# code to their holding of it (an empty half of the row when it is unknown or someone else's), and
# the cart's offers with what the rules read of them (price as text: JSON would make it a float).
_VALIDATION_READ_SQL = f"""
SELECT {user_columns("account")}, found.*,
    (SELECT json_agg(json_build_array(
        offer.id, offer.price::text, offer.currency, product.id, category.id, category.path))
     FROM marketplace_offer offer
     JOIN marketplace_product product ON product.id = offer.product_id
     JOIN marketplace_category category ON category.id = product.category_id
     WHERE offer.id = ANY(%(offer_ids)s))
FROM authtoken_token token
JOIN marketplace_user account ON account.id = token.user_id
LEFT JOIN LATERAL ({_HOLDER_FOR_CODE.format(customer="account.id")}) found ON TRUE
WHERE token.key = %(token)s
"""  # noqa: S608 - as above
_VALIDATION_READ_STATEMENT = PreparedStatement(
    _VALIDATION_READ_SQL,
    {"token": "text", "code": "text", "hour": "timestamptz", "offer_ids": "bigint[]"},
)


class CodeLookup(NamedTuple):
    """A customer's holding of a code, with what checking it needs."""

    holder: CouponHolder  # with coupon.campaign loaded
    failures_this_hour: int  # failed code entries of the account in this hour
    category_paths: list[str]  # the campaign's eligible categories; empty: all


def _lookup(row: Sequence[Any]) -> CodeLookup | None:
    """A holding from its columns of a row; None when the row's holder half is empty."""
    if row[0] is None:
        return None
    coupon_end = len(_HOLDER_NAMES) + len(_COUPON_NAMES)
    campaign_end = coupon_end + len(_CAMPAIGN_NAMES)
    holder = CouponHolder.from_db(DEFAULT_DB_ALIAS, _HOLDER_NAMES, row[: len(_HOLDER_NAMES)])
    coupon = Coupon.from_db(DEFAULT_DB_ALIAS, _COUPON_NAMES, row[len(_HOLDER_NAMES) : coupon_end])
    campaign = Campaign.from_db(DEFAULT_DB_ALIAS, _CAMPAIGN_NAMES, row[coupon_end:campaign_end])
    coupon.campaign = campaign
    holder.coupon = coupon
    return CodeLookup(holder, row[campaign_end] or 0, list(row[campaign_end + 1]))


def holder_for_code(customer_id: int, code: str, *, hour: datetime) -> CodeLookup | None:
    """The customer's holding of a normalised code; None also for other customers' codes."""
    row = _HOLDER_FOR_CODE_STATEMENT.fetchone(
        {"customer_id": customer_id, "hour": hour, "code": code}
    )
    return None if row is None else _lookup(row)


@functools.cache
def _field_order(model: type[Model], names: frozenset[str]) -> list[str]:
    return [field.attname for field in model._meta.concrete_fields if field.attname in names]


def _partial(model: type[_M], **values: Any) -> _M:
    """A model instance with only these fields loaded (the others deferred), without computing
    every other field's default as the constructor would."""
    names = _field_order(model, frozenset(values))
    return model.from_db(DEFAULT_DB_ALIAS, names, [values[name] for name in names])


class ValidationRead(NamedTuple):
    """Everything a code validation reads, from one statement."""

    customer: User  # the token's account, active or not: authentication decides
    found: CodeLookup | None  # None for unknown codes and other customers' codes alike
    offers: dict[int, Offer]  # the cart's offers that exist, with ``product.category.path``


def validation_read(
    token: str, code: str | None, offer_ids: Sequence[int], *, hour: datetime
) -> ValidationRead | None:
    """The account of an API token with its holding of a normalised code (None: cannot be a code)
    and the cart's offers; None when no account has this token."""
    row = _VALIDATION_READ_STATEMENT.read(
        {"token": token, "code": code, "hour": hour, "offer_ids": list(offer_ids)}
    )
    if row is None:
        return None
    customer = user_from_row(row)
    offers = {}
    for offer_id, price, currency, product_id, category_id, path in row[-1] or ():
        offer = _partial(
            Offer, id=offer_id, price=Decimal(price), currency=currency, product_id=product_id
        )
        offer.product = _partial(Product, id=product_id, category_id=category_id)
        offer.product.category = _partial(Category, id=category_id, path=path)
        offers[offer_id] = offer
    return ValidationRead(customer, _lookup(row[USER_WIDTH : USER_WIDTH + _FOUND_WIDTH]), offers)


def wallet(customer: User) -> QuerySet[CouponHolder]:
    """My codes, newest first, each with what the rules need (``category_paths``) in one query."""
    return (
        CouponHolder.objects.filter(customer=customer)
        .select_related("coupon", "coupon__campaign")
        .annotate(category_paths=eligible_category_paths())
        .order_by("-coupon__created_at", "-pk")
    )


def _aggregate(rows: QuerySet[Any], **aggregate: Any) -> Subquery:
    """One aggregate over a campaign's rows as a correlated subquery: no fan-out between holders and
    redemptions, and only the campaigns a page shows are counted."""
    ((name, expression),) = aggregate.items()
    return Subquery(
        rows.order_by().values("coupon__campaign").annotate(**{name: expression}).values(name)
    )


def campaigns_with_statistics(campaigns: QuerySet[Campaign]) -> QuerySet[Campaign]:
    """Campaigns annotated with codes issued, e-mailed, applied, checkouts redeemed, discount spent
    and revenue (what customers paid for the discounted orders); cancelled orders do not count."""
    holders = CouponHolder.objects.filter(coupon__campaign=OuterRef("pk"))
    redemptions = Redemption.objects.filter(
        coupon__campaign=OuterRef("pk"), reversed_at__isnull=True
    )
    zero = Value(0)
    money_zero = Value(Decimal(0), output_field=DecimalField(max_digits=12, decimal_places=2))
    return campaigns.annotate(
        issued=Coalesce(_aggregate(holders, n=Count("pk")), zero),
        emailed=Coalesce(_aggregate(holders.filter(emailed_at__isnull=False), n=Count("pk")), zero),
        applied=Coalesce(_aggregate(holders.filter(applied_at__isnull=False), n=Count("pk")), zero),
        # One checkout is one use even when it made an order per seller.
        redeemed=Coalesce(
            _aggregate(redemptions, n=Count("checkout_reference", distinct=True)), zero
        ),
        spent=Coalesce(_aggregate(redemptions, total=Sum("discount")), money_zero),
        revenue=Coalesce(_aggregate(redemptions, total=Sum("order_total")), money_zero),
    )


STATISTICS = ("issued", "emailed", "applied", "redeemed", "spent", "revenue")


def redemption_rate(issued: int, redeemed: int) -> float | None:
    return round(redeemed / issued, 4) if issued else None


def campaign_statistics(campaign_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The statistics of these campaigns by id, with the redemption rate (for export)."""
    rows = campaigns_with_statistics(Campaign.objects.filter(pk__in=campaign_ids)).values(
        "pk", *STATISTICS
    )
    by_id: dict[int, dict[str, Any]] = {}
    for row in rows:
        by_id[row["pk"]] = {
            **row,
            "redemption_rate": redemption_rate(row["issued"], row["redeemed"]),
        }
    return by_id

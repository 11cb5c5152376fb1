"""Reads of invitations: drops for shoppers, my requests, the product page block, staff figures."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext_lazy

from invitations.choices import DropStatus, RequestState
from invitations.constants import APPEAL_HINT, CATEGORY_MESSAGES
from invitations.models import Drop, InvitationRequest
from marketplace.models import User


def drops_visible(*, now: datetime) -> QuerySet[Drop]:
    """Open and upcoming drops."""
    return (
        Drop.objects.filter(request_closes_at__gt=now)
        .exclude(status__in=[DropStatus.DRAWN, DropStatus.COMPLETED])
        .select_related("offer__product")
        .order_by("request_opens_at", "pk")
    )


def my_requests(customer: User) -> QuerySet[InvitationRequest]:
    return (
        InvitationRequest.objects.filter(customer=customer)
        .select_related("drop__offer__product", "invitation")
        .order_by("-created_at")
    )


def request_json(request: InvitationRequest) -> dict[str, Any]:
    invitation = getattr(request, "invitation", None)
    body: dict[str, Any] = {
        "id": request.pk,
        "drop_id": request.drop_id,
        "state": request.state,
        "requested_at": request.created_at,
        "invitation_expires_at": invitation.expires_at if invitation else None,
        "screened_out_reason": None,
        "appeal": None,
    }
    if request.state == RequestState.SCREENED_OUT:
        body["screened_out_reason"] = CATEGORY_MESSAGES.get(
            request.screened_category, CATEGORY_MESSAGES["device"]
        )
        body["appeal"] = APPEAL_HINT
    return body


def drop_json(drop: Drop, *, now: datetime) -> dict[str, Any]:
    revealed = drop.draws.exists()
    return {
        "id": drop.pk,
        "offer_id": drop.offer_id,
        "product_title": drop.offer.product.title,
        "units": drop.units,
        "request_opens_at": drop.request_opens_at,
        "request_closes_at": drop.request_closes_at,
        "eligible_countries": drop.eligible_countries,
        "purchase_window_hours": drop.purchase_window_hours,
        "is_open": drop.request_opens_at <= now < drop.request_closes_at,
        "seed_hash": drop.seed_hash,
        "seed": drop.seed if revealed else None,
    }


NOTICE = gettext_lazy(
    "Available by invitation. High-demand item with limited quantities; "
    "we cannot grant every request."
)


def offer_invitation_block(
    offer_id: int, user: User | None, *, now: datetime
) -> dict[str, Any] | None:
    """What the product page says about an invitation-only offer."""
    drop = Drop.objects.filter(offer_id=offer_id).order_by("-request_opens_at").first()
    if drop is None:
        return None
    mine = (
        InvitationRequest.objects.filter(drop=drop, customer=user)
        .select_related("invitation")
        .first()
        if user
        else None
    )
    return {
        "drop_id": drop.pk,
        "available_by_invitation": True,
        "notice": str(NOTICE),
        "request_opens_at": drop.request_opens_at,
        "request_closes_at": drop.request_closes_at,
        "is_open": drop.request_opens_at <= now < drop.request_closes_at,
        "my_request": request_json(mine) if mine else None,
    }


def drop_figures(drop: Drop) -> dict[str, Any]:
    requests = InvitationRequest.objects.filter(drop=drop)
    counts = requests.aggregate(
        total=Count("pk"),
        screened_out=Count("pk", filter=Q(state=RequestState.SCREENED_OUT)),
        invited=Count("pk", filter=Q(state=RequestState.INVITED)),
        purchased=Count("pk", filter=Q(state=RequestState.PURCHASED)),
        expired=Count("pk", filter=Q(state=RequestState.EXPIRED)),
    )
    by_rule: dict[str, int] = {}
    for verdict in requests.filter(state=RequestState.SCREENED_OUT).values_list(
        "verdict", flat=True
    ):
        for rule in verdict.get("fired", []):
            by_rule[rule["code"]] = by_rule.get(rule["code"], 0) + 1
    return {**counts, "screened_out_by_rule": by_rule, "rounds": drop.draws.count()}

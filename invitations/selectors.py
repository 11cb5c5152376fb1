"""Reads of invitations: drops for shoppers, my requests, the product page block, staff figures."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _

from invitations.choices import AppealStatus, DropStatus, InvitationStatus, RequestState
from invitations.constants import APPEAL_HINT, CATEGORY_MESSAGES
from invitations.models import Draw, Drop, Invitation, InvitationRequest
from marketplace.models import User

DRAWN_STATUSES = (DropStatus.DRAWN, DropStatus.COMPLETED)


def drops_visible(*, now: datetime) -> QuerySet[Drop]:
    """Open and upcoming drops, soonest first."""
    return (
        Drop.objects.filter(request_closes_at__gt=now)
        .exclude(status__in=[DropStatus.DRAWN, DropStatus.COMPLETED])
        .select_related("offer__product")
        .order_by("request_opens_at", "pk")
    )


def my_requests(customer: User) -> QuerySet[InvitationRequest]:
    """The customer's own requests, newest first."""
    return (
        InvitationRequest.objects.filter(customer=customer)
        .select_related("drop__offer__product", "invitation")
        .order_by("-created_at", "-pk")
    )


def shown_state(request: InvitationRequest) -> str:
    """The state the customer sees. The draw writes no request row (services.draws): until the
    follow-up reaches it, a request "received" in a drawn drop is a winner's, whose invitation
    says what it is, or else it was not drawn."""
    if request.state == RequestState.RECEIVED and request.drop.status in DRAWN_STATUSES:
        invitation = getattr(request, "invitation", None)
        return invitation.status if invitation is not None else RequestState.NOT_DRAWN
    return request.state


def request_json(request: InvitationRequest) -> dict[str, Any]:
    """A request as its owner sees it: the state and, when screened out, a reason category that
    helps a real customer (never a rule, weight or threshold) and how to appeal."""
    state = shown_state(request)
    # Only drawn requests have an invitation: the others need no query for it.
    drawn = {RequestState.INVITED, RequestState.PURCHASED, RequestState.EXPIRED}
    invitation: Invitation | None = getattr(request, "invitation", None) if state in drawn else None
    screened_out = request.state == RequestState.SCREENED_OUT
    category = (request.screened_category or "device") if screened_out else None
    return {
        "id": request.pk,
        "drop_id": request.drop_id,
        "offer_id": request.drop.offer_id,
        "product_title": request.drop.offer.product.title,
        "state": state,
        "state_label": str(RequestState(state).label),
        "requested_at": request.created_at,
        "invitation_expires_at": invitation.expires_at if invitation else None,
        "invitation_quantity": invitation.quantity if invitation else None,
        "reason_category": category,
        "screened_out_reason": str(CATEGORY_MESSAGES.get(category or "", "")) or None,
        "appeal": str(APPEAL_HINT) if screened_out else None,
        "appeal_url": reverse("api-my-drop-request-appeal", args=[request.pk])
        if screened_out and request.appeal_status == AppealStatus.NONE
        else None,
        "appeal_status": request.appeal_status or None,
    }


def drop_json(drop: Drop, *, now: datetime) -> dict[str, Any]:
    """A drop as announced: window, countries, the seed's hash, and the seed once drawn."""
    revealed = drop.status in {DropStatus.DRAWN, DropStatus.COMPLETED}
    return {
        "id": drop.pk,
        "offer_id": drop.offer_id,
        "product_id": drop.offer.product_id,
        "product_title": drop.offer.product.title,
        "status": drop.status,
        "units": drop.units,
        "request_opens_at": drop.request_opens_at,
        "request_closes_at": drop.request_closes_at,
        "eligible_countries": drop.eligible_countries,
        "purchase_window_hours": drop.purchase_window_hours,
        "limit_per_customer": drop.limit_per_customer,
        "is_open": _is_open(drop, now),
        "seed_hash": drop.seed_hash,
        "seed": drop.seed if revealed else None,
    }


def drop_public(drop_id: int) -> Drop | None:
    """Any announced drop, for its public page and the audit of its draws."""
    return (
        Drop.objects.select_related("offer__product")
        .prefetch_related(Prefetch("draws", queryset=Draw.objects.order_by("round")))
        .filter(pk=drop_id)
        .first()
    )


def drop_detail_json(drop: Drop, *, now: datetime) -> dict[str, Any]:
    """The drop with its draws: once drawn, the seed and each round's inputs and winners, so
    anyone can recompute them (see invitations/lottery.py for the rule)."""
    return {
        **drop_json(drop, now=now),
        "draws": [
            {
                "round": draw.round,
                "algorithm": draw.algorithm,
                "units": draw.units,
                "eligible_count": len(draw.eligible_request_ids),
                "eligible_digest": eligible_digest(draw.eligible_request_ids),
                "winner_request_ids": draw.winner_request_ids,
                "drawn_at": draw.drawn_at,
            }
            for draw in drop.draws.all()
        ],
    }


def eligible_digest(request_ids: list[int]) -> str:
    """sha256 of the eligible request ids, ascending, comma-separated: a short fingerprint of a
    round's inputs that a published list can be checked against."""
    return hashlib.sha256(",".join(str(pk) for pk in request_ids).encode()).hexdigest()


def _is_open(drop: Drop, now: datetime) -> bool:
    return drop.request_opens_at <= now < drop.request_closes_at and drop.status not in {
        DropStatus.DRAWN,
        DropStatus.COMPLETED,
    }


def offer_invitation_block(
    offer_id: int, user: User | None, *, now: datetime
) -> dict[str, Any] | None:
    """What the product page says about an invitation-only offer: available by invitation, high
    demand and limited quantity, not every request granted, the request window, my request."""
    drops = Drop.objects.filter(offer_id=offer_id).order_by("-request_opens_at", "-pk")
    drop = drops.exclude(status=DropStatus.COMPLETED).first() or drops.first()
    if drop is None:
        return None
    mine = None
    if user is not None and user.is_authenticated:
        mine = (
            InvitationRequest.objects.filter(drop=drop, customer=user)
            .select_related("invitation", "drop__offer__product")
            .first()
        )
    is_open = _is_open(drop, now)
    notices = [
        _("Available by invitation."),
        _("High-demand item with limited quantities."),
        _("We cannot grant every request."),
    ]
    return {
        "drop_id": drop.pk,
        "status": drop.status,
        "available_by_invitation": True,
        "is_high_demand": True,
        "notice": " ".join(notices),
        "notices": notices,
        "request_opens_at": drop.request_opens_at,
        "request_closes_at": drop.request_closes_at,
        "is_open": is_open,
        "eligible_countries": drop.eligible_countries,
        "purchase_window_hours": drop.purchase_window_hours,
        "can_request": is_open and user is not None and user.is_authenticated and mine is None,
        "my_request": request_json(mine) if mine else None,
    }


def drop_figures(drop: Drop) -> dict[str, Any]:
    """Staff figures of one drop: requests, screened out per rule, appeals, winners, purchases,
    expiries and rounds."""
    counts = InvitationRequest.objects.filter(drop=drop).aggregate(
        requests=Count("pk"),
        screened_out=Count("pk", filter=Q(state=RequestState.SCREENED_OUT)),
        overridden=Count("pk", filter=Q(is_automated_verdict=False)),
        appeals_pending=Count("pk", filter=Q(appeal_status=AppealStatus.PENDING)),
        not_drawn=Count(
            "pk",
            filter=Q(state=RequestState.NOT_DRAWN)
            | Q(
                state=RequestState.RECEIVED,
                drop__status__in=DRAWN_STATUSES,
                invitation__isnull=True,
            ),
        ),
    )
    invitations = Invitation.objects.filter(drop=drop).aggregate(
        winners=Count("pk"),
        invited=Count("pk", filter=Q(status=InvitationStatus.INVITED)),
        purchased=Count("pk", filter=Q(status=InvitationStatus.PURCHASED)),
        expired=Count("pk", filter=Q(status=InvitationStatus.EXPIRED)),
        returned=Count("pk", filter=Q(returned_at__isnull=False)),
    )
    by_rule: dict[str, int] = {}
    for verdict in InvitationRequest.objects.filter(
        drop=drop, state=RequestState.SCREENED_OUT
    ).values_list("verdict", flat=True):
        for rule in (verdict or {}).get("fired", []):
            if int(rule["weight"]) > 0:
                by_rule[rule["code"]] = by_rule.get(rule["code"], 0) + 1
    return {
        **counts,
        **invitations,
        "screened_out_by_rule": dict(sorted(by_rule.items())),
        "rounds": drop.draws.count(),
        "units": drop.units,
        "held_units": drop.held_units,
    }


def appeals_pending(*, drop: Drop | None = None) -> QuerySet[InvitationRequest]:
    """Screened-out requests whose owner appealed, oldest appeal first: the staff queue."""
    queryset = InvitationRequest.objects.filter(appeal_status=AppealStatus.PENDING)
    if drop is not None:
        queryset = queryset.filter(drop=drop)
    return queryset.select_related("customer", "drop").order_by("appealed_at", "pk")

"""Buying an invitation-only offer: only the invited account, its held unit, once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from checkout import services as checkout
from core import outbox
from invitations import errors, services
from invitations.models import Drop, Invitation, InvitationRequest
from invitations.selectors import shown_state
from marketplace import services as marketplace
from marketplace.models import Offer, Order
from tests.conftest import client_for
from tests.invitations.factories import BROWSER, close, customer, make_drop, request


def drawn_drop(*users, units=1, stock=5, limit_per_customer=1):
    drop = make_drop(units=units, stock=stock, limit_per_customer=limit_per_customer)
    for index, user in enumerate(users):
        request(drop, user, ip=f"192.0.{index}.1")
    close(drop)
    services.draw_run(drop.pk)
    return drop


def buy(user, drop, quantity=1, now=None):
    return checkout.checkout_place(
        user,
        lines=[checkout.CartLine(drop.offer_id, quantity)],
        address_id=user.addresses.get().pk,
        now=now,
    )


def drop_orders(drop):
    return Order.objects.filter(lines__offer_id=drop.offer_id)


def snapshot(drop):
    return (
        drop_orders(drop).count(),
        Offer.objects.get(pk=drop.offer_id).stock,
        Drop.objects.get(pk=drop.pk).held_units,
        sorted(Invitation.objects.values_list("status", flat=True)),
    )


@pytest.mark.django_db
def test_the_invited_account_buys_end_to_end_through_the_api(shopper):
    drop = drawn_drop(shopper, stock=5)
    client = client_for(shopper)
    body = {
        "address_id": shopper.addresses.get().pk,
        "lines": [{"offer_id": drop.offer_id, "quantity": 1}],
    }
    placed = client.post("/api/checkout/", body, format="json", HTTP_IDEMPOTENCY_KEY="drop-1")
    replayed = client.post("/api/checkout/", body, format="json", HTTP_IDEMPOTENCY_KEY="drop-1")
    again = client.post("/api/checkout/", body, format="json", HTTP_IDEMPOTENCY_KEY="drop-2")
    assert placed.status_code == 201, placed.json()
    assert replayed.json() == placed.json()
    assert (again.status_code, again.json()["code"]) == (409, "invitation_used")
    order = drop_orders(drop).get()
    invitation = Invitation.objects.get()
    assert (invitation.status, invitation.order_id) == ("purchased", order.pk)
    assert invitation.request.state == "purchased"
    assert Offer.objects.get(pk=drop.offer_id).stock == 4  # taken once, at the draw
    assert Drop.objects.get(pk=drop.pk).held_units == 0
    mine = client.get("/api/me/drop-requests/").json()["results"]
    assert [row["state"] for row in mine] == ["purchased"]


@pytest.mark.django_db
def test_no_invitation_at_all_is_refused_and_changes_nothing(shopper):
    drop = make_drop(units=1)
    before = snapshot(drop)
    with pytest.raises(errors.InvitationRequired):
        buy(shopper, drop)
    response = client_for(shopper).post(
        "/api/checkout/",
        {
            "address_id": shopper.addresses.get().pk,
            "lines": [{"offer_id": drop.offer_id, "quantity": 1}],
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="none-1",
    )
    assert (response.status_code, response.json()["code"]) == (403, "invitation_required")
    assert snapshot(drop) == before


@pytest.mark.django_db
def test_another_accounts_invitation_does_not_let_me_buy(shopper, shopper_b):
    drop = drawn_drop(shopper, shopper_b)
    winner = Invitation.objects.get().customer
    loser = shopper_b if winner == shopper else shopper
    before = snapshot(drop)
    with pytest.raises(errors.InvitationRequired):
        buy(loser, drop)
    assert snapshot(drop) == before
    assert shown_state(InvitationRequest.objects.get(customer=loser)) == "not_drawn"


@pytest.mark.django_db
def test_an_expired_invitation_cannot_buy(shopper):
    drop = drawn_drop(shopper)
    invitation = Invitation.objects.get()
    before = snapshot(drop)
    with pytest.raises(errors.InvitationExpired):
        buy(shopper, drop, now=invitation.expires_at)
    services.invitations_expire(now=invitation.expires_at + timedelta(seconds=1))
    with pytest.raises(errors.InvitationExpired):
        buy(shopper, drop, now=invitation.expires_at + timedelta(seconds=2))
    assert drop_orders(drop).count() == before[0]


@pytest.mark.django_db
def test_more_than_the_held_units_is_refused(shopper):
    drop = drawn_drop(shopper)
    before = snapshot(drop)
    with pytest.raises(errors.InvitationQuantity):
        buy(shopper, drop, quantity=2)
    assert snapshot(drop) == before


@pytest.mark.django_db
def test_the_guarded_update_refuses_an_invitation_expired_or_used_meanwhile(shopper):
    drop = drawn_drop(shopper)
    invitation = Invitation.objects.get()
    order = Order.objects.create(
        buyer=shopper,
        seller_id=Offer.objects.get(pk=drop.offer_id).seller_id,
        checkout_reference="00000000-0000-0000-0000-000000000001",
        subtotal=1,
        total=1,
        placed_at=timezone.now(),
        ship_by=timezone.now().date(),
    )
    with pytest.raises(errors.InvitationExpired):
        services.invitation_consume(invitation.pk, order=order, now=invitation.expires_at)
    services.invitation_consume(invitation.pk, order=order, now=timezone.now())
    with pytest.raises(errors.InvitationUsed):
        services.invitation_consume(invitation.pk, order=order, now=timezone.now())
    assert Drop.objects.get(pk=drop.pk).held_units == 0


@pytest.mark.django_db(transaction=True)
def test_one_invitation_used_twice_in_parallel_gives_one_order():
    winner = customer()
    drop = drawn_drop(winner)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt() -> None:
        try:
            barrier.wait()
            buy(winner, drop)
            outcomes.append("ok")
        except errors.InvitationUsed:
            outcomes.append("used")
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["ok", "used"]
    assert drop_orders(drop).count() == 1
    assert Invitation.objects.get().order_id == drop_orders(drop).get().pk
    assert Drop.objects.get(pk=drop.pk).held_units == 0
    assert Offer.objects.get(pk=drop.offer_id).stock == 4


@pytest.mark.django_db
def test_a_smaller_purchase_frees_the_rest_for_a_further_round():
    drop = drawn_drop(customer(), customer(), units=2, limit_per_customer=2)
    winner = Invitation.objects.get().customer
    waiting = InvitationRequest.objects.exclude(customer=winner).get()
    assert shown_state(waiting) == "not_drawn"
    buy(winner, drop, quantity=1)
    assert Drop.objects.get(pk=drop.pk).held_units == 1
    draws = services.drops_redraw()
    assert [(d.round, d.units, d.winner_request_ids) for d in draws] == [(2, 1, [waiting.pk])]
    assert Invitation.objects.get(request=waiting).quantity == 1
    buy(waiting.customer, drop)
    assert Drop.objects.get(pk=drop.pk).held_units == 0
    services.drops_redraw()
    assert Drop.objects.get(pk=drop.pk).status == "completed"
    assert Offer.objects.get(pk=drop.offer_id).stock == 3


@pytest.mark.django_db
def test_a_cancelled_invitation_order_gives_its_unit_to_a_further_round(staff):
    buyer, waiting = customer(), customer()
    drop = make_drop(units=1, stock=5)
    request(drop, buyer, ip="192.0.1.1")
    request(drop, waiting, ip="192.0.2.1")
    close(drop)
    # Make the buyer the winner whatever the seed says: the other request is screened out by staff
    # for round 1 and admitted again afterwards.
    services.verdict_override(
        InvitationRequest.objects.get(customer=waiting).pk,
        screened_out=True,
        actor=buyer,
        reason="test",
    )
    services.draw_run(drop.pk)
    order = buy(buyer, drop).orders[0]
    services.verdict_override(
        InvitationRequest.objects.get(customer=waiting).pk,
        screened_out=False,
        actor=buyer,
        reason="test",
    )
    marketplace.order_cancel(order.pk, by="buyer", actor=buyer)
    outbox.relay()
    outbox.relay()  # a second relay run changes nothing
    assert Offer.objects.get(pk=drop.offer_id).stock == 4
    assert Drop.objects.get(pk=drop.pk).held_units == 1
    services.drops_redraw()
    assert Invitation.objects.get(customer=waiting).round == 2
    assert Invitation.objects.get(customer=buyer).status == "purchased"


@pytest.mark.django_db
def test_the_product_page_tells_the_winner_until_when_to_buy(shopper):
    drop = drawn_drop(shopper)
    page = client_for(shopper).get(
        f"/api/products/{Offer.objects.get(pk=drop.offer_id).product_id}/",
        HTTP_USER_AGENT=BROWSER,
    )
    block = page.json()["offers"][0]["invitation"]
    assert block["my_request"]["state"] == "invited"
    assert block["my_request"]["invitation_expires_at"] is not None

from __future__ import annotations

import random
import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from checkout import services as checkout
from core import outbox
from core.models import OutgoingEmail
from invitations import errors, lottery, services
from invitations.models import Draw, Drop, Invitation, InvitationRequest
from marketplace.models import Offer, Order
from tests.conftest import client_for
from tests.factories import AddressFactory, OfferFactory, UserFactory

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"


def make_drop(units=2, stock=10, opens=None, closes=None, countries=("DE",)):
    now = timezone.now()
    offer = OfferFactory(stock=stock)
    return services.drop_create(
        offer=offer,
        units=units,
        opens_at=opens or now - timedelta(hours=1),
        closes_at=closes or now + timedelta(hours=1),
        eligible_countries=list(countries),
    )


def customer(days_old=400, **address):
    user = UserFactory(date_joined=timezone.now() - timedelta(days=days_old))
    address.setdefault("line1", f"Gartenweg {user.pk}")
    AddressFactory(owner=user, **address)
    return user


def request(drop, user, ip="203.0.113.7", agent=BROWSER, device=""):
    return services.request_create(drop.pk, user, ip_address=ip, user_agent=agent, device_id=device)


@pytest.mark.django_db(transaction=True)
def test_fifty_parallel_requests_by_one_account_give_one_row():
    drop = make_drop()
    user = customer()
    barrier = threading.Barrier(50)
    created: list[bool] = []

    def attempt() -> None:
        try:
            barrier.wait()
            created.append(request(drop, user)[1])
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert InvitationRequest.objects.filter(drop=drop, customer=user).count() == 1
    assert created.count(True) == 1
    assert len(created) == 50


@pytest.mark.django_db
def test_requests_outside_the_window_or_the_countries_are_refused_and_change_nothing():
    now = timezone.now()
    later = make_drop(opens=now + timedelta(days=1), closes=now + timedelta(days=2))
    austria_only = make_drop(countries=("AT",))
    user = customer()
    with pytest.raises(errors.DropNotOpen):
        request(later, user)
    with pytest.raises(errors.CountryNotEligible):
        request(austria_only, user)
    assert InvitationRequest.objects.count() == 0


@pytest.mark.django_db
def test_the_api_returns_the_first_request_on_repeat_and_my_requests(shopper):
    drop = make_drop()
    client = client_for(shopper)
    first = client.post(f"/api/drops/{drop.pk}/requests/", HTTP_USER_AGENT=BROWSER)
    second = client.post(f"/api/drops/{drop.pk}/requests/", HTTP_USER_AGENT=BROWSER)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    listed = client.get("/api/drops/").json()["results"]
    assert [row["id"] for row in listed] == [drop.pk]
    assert listed[0]["seed"] is None and len(listed[0]["seed_hash"]) == 64
    mine = client.get("/api/me/drop-requests/").json()["results"]
    assert [row["state"] for row in mine] == ["received"]


@pytest.mark.django_db
def test_a_bot_is_told_a_category_and_how_to_appeal_but_not_the_thresholds():
    drop = make_drop()
    bot = customer(days_old=0)
    response = client_for(bot).post(
        f"/api/drops/{drop.pk}/requests/", HTTP_USER_AGENT="python-requests/2.32"
    )
    body = response.json()
    assert body["state"] == "screened_out"
    assert body["screened_out_reason"] == "Your request looked automated."
    assert "appeal" in body["appeal"]
    assert "threshold" not in str(body) and "weight" not in str(body)


@pytest.mark.django_db
def test_draw_holds_units_invites_winners_and_mails_everyone_once():
    drop = make_drop(units=2, stock=10)
    users = [customer() for _ in range(5)]
    for index, user in enumerate(users):
        request(drop, user, ip=f"198.51.{index}.9")
    drop.request_closes_at = timezone.now()
    draw = services.draw_run(drop.pk)
    again = services.draw_run(drop.pk)
    assert again.pk == draw.pk
    assert len(draw.winner_request_ids) == 2
    assert Offer.objects.get(pk=drop.offer_id).stock == 8
    assert Invitation.objects.count() == 2
    services.notify_not_drawn(drop.pk, batch_size=2)
    services.notify_not_drawn(drop.pk)  # a second run tells nobody twice
    outbox.relay()
    outbox.relay()
    assert OutgoingEmail.objects.filter(template="invitation_granted").count() == 2
    assert OutgoingEmail.objects.filter(template="invitation_not_drawn").count() == 3
    assert call_command("verify_draw", str(drop.pk), "1") is None
    assert Drop.objects.get(pk=drop.pk).held_units == 2


@pytest.mark.django_db
def test_a_draw_killed_midway_and_run_again_gives_the_same_winners_and_no_duplicate_mail(
    monkeypatch,
):
    drop = make_drop(units=3)
    for index in range(8):
        request(drop, customer(), ip=f"192.0.{index}.1")
    expected = lottery.draw_winners(
        drop.seed, 1, list(InvitationRequest.objects.order_by("pk").values_list("pk", flat=True)), 3
    )
    calls = {"count": 0}
    real_email_queue = services.email_queue

    def dying_email_queue(**kwargs):
        calls["count"] += 1
        if calls["count"] == 2:
            raise SystemExit("worker killed")
        return real_email_queue(**kwargs)

    monkeypatch.setattr(services, "email_queue", dying_email_queue)
    with pytest.raises(SystemExit):
        services.draw_run(drop.pk)
    assert Draw.objects.count() == 0
    assert Invitation.objects.count() == 0
    assert Offer.objects.get(pk=drop.offer_id).stock == 10
    monkeypatch.setattr(services, "email_queue", real_email_queue)
    draw = services.draw_run(drop.pk)
    assert draw.winner_request_ids == expected
    outbox.relay()
    assert OutgoingEmail.objects.filter(template="invitation_granted").count() == 3


def test_the_lottery_shows_no_bias_by_request_order():
    """Chi-square over 2,000 seeds: 200 requests in 10 arrival-order buckets, 20 winners each."""
    buckets = [0] * 10
    for index in range(2000):
        seed = random.Random(index).getrandbits(256).to_bytes(32, "big").hex()
        for winner in lottery.draw_winners(seed, 1, range(1, 201), 20):
            buckets[(winner - 1) // 20] += 1
    expected = 2000 * 20 / 10
    chi_square = sum((observed - expected) ** 2 / expected for observed in buckets)
    assert chi_square < 21.67  # 9 degrees of freedom, p = 0.01


@pytest.mark.django_db
def test_expired_invitations_release_their_units_to_a_further_round():
    drop = make_drop(units=1)
    for index in range(3):
        request(drop, customer(), ip=f"192.0.{index}.1")
    services.draw_run(drop.pk)
    first = Invitation.objects.get()
    services.invitations_expire(now=first.expires_at + timedelta(seconds=1))
    first.refresh_from_db()
    assert first.status == "expired"
    second = Invitation.objects.exclude(pk=first.pk).get()
    assert (second.round, second.status) == (2, "invited")
    assert Offer.objects.get(pk=drop.offer_id).stock == 9  # still held, not back in stock
    assert services.draw_verify(drop.pk, 2)[0] is True


@pytest.mark.django_db
def test_checkout_of_an_invitation_only_offer(shopper):
    drop = make_drop(units=1, stock=5)
    winner = shopper
    other = customer()
    request(drop, winner)
    services.draw_run(drop.pk)
    offer = Offer.objects.get(pk=drop.offer_id)

    def buy(user, quantity=1):
        return checkout.checkout_place(
            user, lines=[checkout.CartLine(offer.pk, quantity)], address_id=user.addresses.get().pk
        )

    with pytest.raises(errors.InvitationRequired):
        buy(other)
    with pytest.raises(errors.InvitationQuantity):
        buy(winner, 2)
    order = buy(winner).orders[0]
    assert Invitation.objects.get().order_id == order.pk
    assert Offer.objects.get(pk=offer.pk).stock == 4  # the held unit, taken once at the draw
    with pytest.raises(errors.InvitationUsed):
        buy(winner)
    assert Order.objects.count() == 1


@pytest.mark.django_db
def test_an_expired_invitation_cannot_buy(shopper):
    drop = make_drop(units=1)
    request(drop, shopper)
    services.draw_run(drop.pk)
    Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    with pytest.raises(errors.InvitationExpired):
        checkout.checkout_place(
            shopper,
            lines=[checkout.CartLine(drop.offer_id, 1)],
            address_id=shopper.addresses.get().pk,
        )


@pytest.mark.django_db(transaction=True)
def test_one_invitation_used_twice_in_parallel_gives_one_order():
    drop = make_drop(units=1)
    winner = customer()
    request(drop, winner)
    services.draw_run(drop.pk)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt() -> None:
        try:
            barrier.wait()
            checkout.checkout_place(
                winner,
                lines=[checkout.CartLine(drop.offer_id, 1)],
                address_id=winner.addresses.get().pk,
            )
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
    assert Order.objects.count() == 1


@pytest.mark.django_db
def test_product_page_says_available_by_invitation(shopper):
    drop = make_drop()
    offer = Offer.objects.get(pk=drop.offer_id)
    page = client_for(shopper).get(f"/api/products/{offer.product_id}/").json()
    block = page["offers"][0]["invitation"]
    assert block["available_by_invitation"] is True
    assert "we cannot grant every request" in block["notice"]
    assert block["my_request"] is None


@pytest.mark.django_db
def test_a_screened_out_customer_can_appeal_and_staff_can_admit(staff):
    drop = make_drop()
    newcomer = customer(days_old=0)
    screened, _ = request(drop, newcomer, agent="curl/8.0")
    client = client_for(newcomer)
    assert (
        client.post(f"/api/me/drop-requests/{screened.pk}/appeal/", {"text": ""}).status_code == 400
    )
    appealed = client.post(
        f"/api/me/drop-requests/{screened.pk}/appeal/",
        {"text": "I used a script to check the page."},
    )
    other = client_for(customer()).post(
        f"/api/me/drop-requests/{screened.pk}/appeal/", {"text": "me"}
    )
    assert appealed.status_code == 200
    assert other.json()["code"] == "drop_request_not_found"
    services.verdict_override(
        screened.pk, screened_out=False, actor=staff, reason="appeal accepted"
    )
    screened.refresh_from_db()
    assert (screened.state, screened.is_automated_verdict) == ("received", False)
    services.screening_batch(drop)
    screened.refresh_from_db()
    assert screened.state == "received"  # the rules do not overrule a person

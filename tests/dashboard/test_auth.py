from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from marketplace.models import Seller
from tests.dashboard.conftest import snapshot

PAGES = ["dashboard:home", "dashboard:orders", "dashboard:offers"]


@pytest.mark.django_db
@pytest.mark.parametrize("name", PAGES)
def test_anonymous_is_sent_to_the_login_page(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('dashboard:login')}?next={reverse(name)}"


@pytest.mark.django_db
def test_anonymous_cannot_ship(client, order):
    before = snapshot(order)
    response = client.post(
        reverse("dashboard:order-ship", args=[order.pk]),
        {"carrier": "dhl", "tracking_number": "00340434161234567890"},
    )
    assert response.status_code == 302
    assert snapshot(order) == before


@pytest.mark.django_db
def test_seller_logs_in_with_email_and_password_and_lands_where_they_were_going(client, seller):
    response = client.post(
        reverse("dashboard:login"),
        {
            "username": "seller.a@example.test",
            "password": "correct-horse-battery",
            "next": reverse("dashboard:orders"),
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard:orders")
    assert client.get(reverse("dashboard:orders")).status_code == 200


@pytest.mark.django_db
def test_a_wrong_password_is_refused(client, seller):
    response = client.post(
        reverse("dashboard:login"),
        {"username": "seller.a@example.test", "password": "wrong-horse"},
    )
    assert response.status_code == 200
    assert "The e-mail address or the password is not right." in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_an_account_without_a_seller_is_refused_at_login_with_a_clear_message(client, shopper):
    response = client.post(
        reverse("dashboard:login"),
        {"username": "shopper.a@example.test", "password": "correct-horse-battery"},
    )
    assert response.status_code == 200
    assert "does not own a seller account" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_a_signed_in_shopper_is_refused_clearly(client, shopper):
    client.force_login(shopper)
    response = client.get(reverse("dashboard:home"))
    assert response.status_code == 403
    assert b"This dashboard is for sellers" in response.content


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["suspended", "deactivated"])
def test_an_inactive_seller_still_gets_in_and_sees_a_banner(client, seller, status):
    Seller.objects.filter(pk=seller.pk).update(status=status)
    response = client.post(
        reverse("dashboard:login"),
        {"username": "seller.a@example.test", "password": "correct-horse-battery"},
    )
    assert response.status_code == 302
    page = client.get(reverse("dashboard:home")).content.decode()
    assert f"Your seller account is {status}: your offers cannot be bought." in page


@pytest.mark.django_db
def test_an_active_seller_sees_no_banner(seller_client):
    page = seller_client.get(reverse("dashboard:home")).content.decode()
    assert "Your seller account is" not in page


@pytest.mark.django_db
def test_logout_is_a_post_and_ends_the_session(seller_client):
    assert seller_client.get(reverse("dashboard:logout")).status_code == 405
    response = seller_client.post(reverse("dashboard:logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard:login")
    assert "_auth_user_id" not in seller_client.session


@pytest.mark.django_db
def test_forms_without_a_csrf_token_are_refused(seller, order):
    client = Client(enforce_csrf_checks=True)
    client.force_login(seller.owner)
    before = snapshot(order)
    response = client.post(
        reverse("dashboard:order-ship", args=[order.pk]),
        {"carrier": "dhl", "tracking_number": "00340434161234567890"},
    )
    assert response.status_code == 403
    assert snapshot(order) == before


@pytest.mark.django_db
def test_every_dashboard_form_carries_a_csrf_token(seller_client, order):
    page = seller_client.get(reverse("dashboard:order", args=[order.pk])).content.decode()
    # language switch, log out, ship, cancel
    assert page.count('method="post"') == 4
    assert page.count('name="csrfmiddlewaretoken"') == 4


@pytest.mark.django_db
def test_the_language_switch_shows_the_dashboard_in_german(seller_client):
    response = seller_client.post(
        reverse("set_language"), {"language": "de", "next": reverse("dashboard:orders")}
    )
    assert response.status_code == 302
    page = seller_client.get(reverse("dashboard:orders")).content.decode()
    assert '<html lang="de">' in page
    assert "Bestellungen" in page

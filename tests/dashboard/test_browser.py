"""The dashboard in a real browser: Debian's chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil

import pytest
from django.db import connections

from marketplace.models import Order
from tests.factories import OfferFactory
from tests.marketplace.helpers import place_order

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(live_server):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; Django's ORM calls in the test body
    # are still synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=live_server.url, locale="en-GB")
        yield context.new_page()
        browser.close()
        # Playwright's greenlet gives this test its own context-local database connection; close it
        # here, or the test database cannot be dropped at the end of the run.
        connections.close_all()


def _log_in(page, email):
    page.goto("/dashboard/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", "correct-horse-battery")
    page.click("button[type=submit]:has-text('Sign in')")
    page.wait_for_url("**/dashboard/")


def test_seller_ships_an_order_through_the_form(page, seller, shopper, tmp_path):
    order = place_order(shopper, OfferFactory(seller=seller))
    _log_in(page, seller.owner.email)
    page.click("nav >> text=Orders")
    page.click(f"text=#{order.pk}")
    page.select_option("#id_carrier", "dhl")
    page.fill("#id_tracking_number", "00340434161234567890")
    page.click("text=Mark as shipped")
    page.wait_for_selector("text=is marked as shipped")
    page.screenshot(path=str(tmp_path / "dashboard-order.png"), full_page=True)
    assert Order.objects.get(pk=order.pk).status == "shipped"


def test_overview_draws_the_chart(page, seller, shopper):
    place_order(shopper, OfferFactory(seller=seller))
    _log_in(page, seller.owner.email)
    page.wait_for_selector("canvas#orders-chart[data-rendered=true]")
    assert page.locator("text=orders to ship").count() == 1


def test_switching_to_german_translates_the_dashboard(page, seller):
    _log_in(page, seller.owner.email)
    page.select_option("#language-select", "de")
    page.wait_for_selector("text=Übersicht")
    assert page.locator("nav >> text=Bestellungen").count() == 1


def test_swagger_ui_renders_under_the_content_security_policy(page):
    errors: list[str] = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    page.goto("/api/docs/")
    page.wait_for_selector(".swagger-ui .info .title")
    assert "Marketplace API" in page.inner_text(".swagger-ui .info .title")
    assert [error for error in errors if "Content Security Policy" in error] == []

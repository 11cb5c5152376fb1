"""Issuing codes to segments: idempotent, e-mailed once, progress and failure visible to staff."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from core import outbox
from core.models import OutgoingEmail
from promotions import services
from promotions.choices import IssueMode, IssueStatus, Segment
from promotions.models import Coupon, CouponHolder, IssueRun
from promotions.selectors import segment_customers
from tests.factories import AddressFactory, OfferFactory, UserFactory
from tests.marketplace.helpers import place_order
from tests.promotions.factories import CampaignFactory

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@pytest.mark.django_db
def test_a_second_run_keeps_every_code_and_mails_nobody_again():
    customers = [UserFactory() for _ in range(5)]
    campaign = CampaignFactory()
    first = services.issue_run_create(
        campaign, segment=Segment.EXPLICIT, customer_ids=[c.pk for c in customers]
    )
    services.issue_run_execute(first.pk, now=NOW, batch_size=2)
    codes = dict(Coupon.objects.filter(campaign=campaign).values_list("customer_id", "code"))
    second = services.issue_run_create(
        campaign, segment=Segment.EXPLICIT, customer_ids=[c.pk for c in customers]
    )
    run = services.issue_run_execute(second.pk, now=NOW, batch_size=2)
    assert (run.total, run.issued, run.already_had, run.status) == (5, 0, 5, IssueStatus.DONE)
    assert dict(Coupon.objects.filter(campaign=campaign).values_list("customer_id", "code")) == (
        codes
    )
    assert OutgoingEmail.objects.filter(template="coupon_issued").count() == 5


@pytest.mark.django_db(transaction=True)
def test_two_overlapping_runs_of_one_campaign_mail_each_customer_once():
    customers = [UserFactory() for _ in range(30)]
    campaign = CampaignFactory()
    runs = [
        services.issue_run_create(
            campaign, segment=Segment.EXPLICIT, customer_ids=[c.pk for c in customers]
        )
        for _ in range(2)
    ]
    barrier = threading.Barrier(2)

    def execute(run_id: int) -> None:
        try:
            barrier.wait()
            services.issue_run_execute(run_id, now=NOW, batch_size=7)
        finally:
            connection.close()

    threads = [threading.Thread(target=execute, args=(run.pk,)) for run in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Coupon.objects.filter(campaign=campaign).count() == 30
    assert CouponHolder.objects.filter(coupon__campaign=campaign).count() == 30
    mails = list(
        OutgoingEmail.objects.filter(template="coupon_issued").values_list("to", flat=True)
    )
    assert sorted(mails) == sorted(c.email for c in customers)
    assert sum(IssueRun.objects.values_list("issued", flat=True)) == 30
    assert sorted(IssueRun.objects.values_list("status", flat=True)) == ["done", "done"]


@pytest.mark.django_db
def test_a_shared_code_binds_one_holder_per_member_and_each_gets_the_mail():
    members = [UserFactory() for _ in range(4)]
    run = services.issue_run_create(
        CampaignFactory(),
        segment=Segment.EXPLICIT,
        mode=IssueMode.SHARED,
        customer_ids=[m.pk for m in members],
    )
    services.issue_run_execute(run.pk, now=NOW)
    coupon = Coupon.objects.get(campaign=run.campaign)
    assert coupon.customer is None
    assert sorted(coupon.holders.values_list("customer_id", "max_uses")) == sorted(
        (m.pk, 1) for m in members
    )
    outbox.relay()
    mails = OutgoingEmail.objects.filter(template="coupon_issued")
    assert sorted(mails.values_list("to", flat=True)) == sorted(m.email for m in members)
    assert all(coupon.display_code in mail.body for mail in mails)


@pytest.mark.django_db
def test_a_failing_run_is_marked_failed_and_running_it_again_finishes(monkeypatch):
    customers = [UserFactory() for _ in range(4)]
    run = services.issue_run_create(
        CampaignFactory(), segment=Segment.EXPLICIT, customer_ids=[c.pk for c in customers]
    )
    issue_batch = services._issue_batch
    calls = []

    def fail_on_second_batch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise ConnectionError("mail relay down")
        return issue_batch(*args, **kwargs)

    monkeypatch.setattr(services, "_issue_batch", fail_on_second_batch)
    with pytest.raises(ConnectionError):
        services.issue_run_execute(run.pk, now=NOW, batch_size=2)
    run.refresh_from_db()
    assert (run.status, run.issued, run.error) == (
        IssueStatus.FAILED,
        2,
        "ConnectionError('mail relay down')",
    )
    services.issue_run_restart(run.pk)
    finished = services.issue_run_execute(run.pk, now=NOW, batch_size=2)
    assert (finished.status, finished.issued, finished.already_had, finished.error) == (
        IssueStatus.DONE,
        2,
        2,
        "",
    )
    assert Coupon.objects.filter(campaign=run.campaign).count() == 4


@pytest.mark.django_db
def test_new_customers_are_young_accounts_without_an_order(seller):
    young = UserFactory(date_joined=NOW - timedelta(days=5))
    young_buyer = UserFactory(date_joined=NOW - timedelta(days=5))
    AddressFactory(owner=young_buyer)
    place_order(young_buyer, OfferFactory(seller=seller), now=NOW - timedelta(days=1))
    UserFactory(date_joined=NOW - timedelta(days=31))
    UserFactory(date_joined=NOW - timedelta(days=5), is_staff=True)
    run = IssueRun(campaign=CampaignFactory(), segment=Segment.NEW, parameter_days=30)
    assert list(segment_customers(run, now=NOW)) == [young]
    assert list(segment_customers(run, now=NOW + timedelta(days=26))) == []

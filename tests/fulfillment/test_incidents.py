"""Incident detection against each offer's own baseline, with a minimum volume."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core import mail

from core import outbox
from core.models import OutboxEvent
from fulfillment import errors, services
from fulfillment.choices import IncidentStatus
from fulfillment.models import Incident, RefusalCount
from tests.factories import OfferFactory
from tests.fulfillment.factories import at

NOW = at(date(2026, 11, 23), 12)


def _refusals(offer, *, hour, attempts, reason="seller_does_not_ship_to_region", region="DE-10"):
    """Counts as cart and checkout leave them: one row per offer, reason, region and hour."""
    RefusalCount.objects.update_or_create(
        offer=offer,
        reason=reason,
        region=region,
        hour=hour.replace(minute=0, second=0, microsecond=0),
        defaults={"attempts": attempts, "blocked_value": offer.price * attempts},
    )


def _history(offer, *, per_hour, hours=7 * 24, rng=None):
    for back in range(2, hours + 2):
        count = per_hour(rng) if callable(per_hour) else per_hour
        if count:
            _refusals(offer, hour=NOW - timedelta(hours=back), attempts=count)


@pytest.mark.django_db
def test_a_spike_opens_one_incident_mails_the_seller_and_alerts_staff(seller):
    spiking = OfferFactory(seller=seller, price=Decimal("10.00"))
    for day in range(1, 7):  # a trickle: one refusal a day
        _refusals(spiking, hour=NOW - timedelta(days=day), attempts=1)
    _refusals(spiking, hour=NOW - timedelta(minutes=20), attempts=30)
    _refusals(spiking, hour=NOW - timedelta(minutes=20), attempts=10, region="DE-12")

    opened = services.incidents_detect(now=NOW + timedelta(minutes=5))
    again = services.incidents_detect(now=NOW + timedelta(minutes=10))

    assert [incident.offer_id for incident in opened] == [spiking.pk]
    assert again == []
    incident = Incident.objects.get()
    assert (
        incident.reason,
        incident.status,
        incident.attempts,
        incident.blocked_value,
        incident.regions,
    ) == ("seller_does_not_ship_to_region", "open", 40, Decimal("400.00"), ["DE-10", "DE-12"])
    assert OutboxEvent.objects.filter(topic="shippability.incident_opened").count() == 1
    outbox.relay()
    assert [message.to for message in mail.outbox] == [[seller.owner.email]]
    assert "40" in mail.outbox[0].body
    assert "DE-10, DE-12" in mail.outbox[0].body


@pytest.mark.django_db
def test_normal_noise_opens_no_incident_however_busy_the_offer(seller):
    """A busy offer refused steadily (shoppers from a country it never ships to) has a high
    baseline: Poisson-like noise around it, and a quiet offer's few refusals, open nothing."""
    rng = random.Random(7)
    busy = OfferFactory(seller=seller)
    quiet = OfferFactory(seller=seller)
    _history(busy, per_hour=lambda r: r.randint(20, 40), rng=rng)
    _history(quiet, per_hour=lambda r: r.choice([0, 0, 0, 1]), rng=rng)
    for minutes in range(0, 24 * 60, 60):
        moment = NOW + timedelta(minutes=minutes)
        _refusals(busy, hour=moment, attempts=rng.randint(20, 45))
        _refusals(quiet, hour=moment, attempts=rng.randint(0, 3))
        assert services.incidents_detect(now=moment + timedelta(minutes=30)) == []
    assert Incident.objects.count() == 0


@pytest.mark.django_db
def test_the_same_volume_is_a_spike_for_a_quiet_offer_but_not_for_a_busy_one(seller):
    busy = OfferFactory(seller=seller)
    quiet = OfferFactory(seller=seller)
    _history(busy, per_hour=30)
    _history(quiet, per_hour=lambda r: r.choice([0, 1]), rng=random.Random(3))
    for offer in (busy, quiet):
        _refusals(offer, hour=NOW, attempts=60)
    opened = services.incidents_detect(now=NOW + timedelta(minutes=30))
    assert [incident.offer_id for incident in opened] == [quiet.pk]


@pytest.mark.django_db
def test_below_the_minimum_volume_nothing_opens_even_from_zero(seller):
    new = OfferFactory(seller=seller)
    _refusals(new, hour=NOW, attempts=19)
    assert services.incidents_detect(now=NOW + timedelta(minutes=30)) == []
    _refusals(new, hour=NOW, attempts=20)
    assert len(services.incidents_detect(now=NOW + timedelta(minutes=30))) == 1


@pytest.mark.django_db
def test_blocked_demand_accumulates_until_it_goes_quiet_and_resolves_itself(seller):
    offer = OfferFactory(seller=seller, price=Decimal("5.00"))
    _refusals(offer, hour=NOW, attempts=25)
    services.incidents_detect(now=NOW + timedelta(minutes=50))
    # Refusals go on at a rate that alone would no longer count as a spike.
    for hours in range(1, 4):
        _refusals(offer, hour=NOW + timedelta(hours=hours), attempts=4, region="AT-10")
        services.incidents_detect(now=NOW + timedelta(hours=hours, minutes=50))
    incident = Incident.objects.get()
    assert (incident.status, incident.attempts, incident.blocked_value, incident.regions) == (
        IncidentStatus.OPEN,
        37,
        Decimal("185.00"),
        ["AT-10", "DE-10"],
    )
    # Last refusals in the 15:00 bucket: quiet from 16:00, resolved two hours later.
    services.incidents_detect(now=NOW + timedelta(hours=5, minutes=59))
    assert Incident.objects.get().status == IncidentStatus.OPEN
    services.incidents_detect(now=NOW + timedelta(hours=6))
    resolved = Incident.objects.get()
    assert (resolved.status, resolved.resolved_by) == (IncidentStatus.RESOLVED, None)
    # The next spike is a new incident, not the old one reopened.
    _refusals(offer, hour=NOW + timedelta(hours=30), attempts=50)
    services.incidents_detect(now=NOW + timedelta(hours=30, minutes=10))
    assert list(Incident.objects.order_by("pk").values_list("status", flat=True)) == [
        "resolved",
        "open",
    ]


@pytest.mark.django_db
def test_staff_confirm_and_resolve_and_only_staff(seller, staff, shopper):
    offer = OfferFactory(seller=seller)
    _refusals(offer, hour=NOW, attempts=25)
    (incident,) = services.incidents_detect(now=NOW + timedelta(minutes=30))
    with pytest.raises(errors.OverrideForbidden):
        services.incident_confirm(incident.pk, actor=shopper)
    assert Incident.objects.get().status == "open"
    confirmed = services.incident_confirm(incident.pk, actor=staff, now=NOW)
    resolved = services.incident_resolve(incident.pk, actor=staff, now=NOW + timedelta(hours=1))
    assert (confirmed.status, confirmed.confirmed_by, confirmed.confirmed_at) == (
        "confirmed",
        staff,
        NOW,
    )
    assert (resolved.status, resolved.resolved_by) == ("resolved", staff)


@pytest.mark.django_db
def test_history_past_its_retention_is_pruned_and_recent_history_kept(seller):
    offer = OfferFactory(seller=seller)
    _refusals(offer, hour=NOW - timedelta(days=91), attempts=3)
    _refusals(offer, hour=NOW - timedelta(days=89), attempts=4)
    assert services.history_prune(now=NOW) == 1
    assert list(RefusalCount.objects.values_list("attempts", flat=True)) == [4]

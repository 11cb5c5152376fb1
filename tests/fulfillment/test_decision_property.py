"""Differential test: the decision against a deliberately simple evaluator of the same rules."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from fulfillment.decision import (
    AddressFacts,
    Area,
    Coverage,
    OfferFacts,
    Restriction,
    Snapshot,
    TemplateRules,
    decide,
)

COUNTRIES = ["DE", "AT", "FR"]
POSTAL = {
    "DE": ["10115", "18565", "80331", "20095"],
    "AT": ["1010", "8010"],
    "FR": ["75001", "13001"],
}


def brute_force(offer: OfferFacts, address: AddressFacts, snap: Snapshot) -> tuple[bool, str]:
    """The rules written out plainly, one after another, without helpers shared with the engine."""
    postal = address.postal_code.replace(" ", "")

    def inside(area: Area) -> bool:
        if area.country != address.country:
            return False
        if area.prefix and postal[: len(area.prefix)] != area.prefix:
            return False
        if area.postal_from:
            part = postal[: len(area.postal_from)]
            if part < area.postal_from or part > (area.postal_to or area.postal_from):
                return False
        return True

    if not offer.is_offer_active:
        return False, "offer_inactive"
    if not offer.is_seller_active:
        return False, "seller_not_active"
    digits = {"DE": 5, "AT": 4, "FR": 5}[address.country]
    if len(postal) != digits or not postal.isdigit():
        return False, "address_invalid"
    for r in snap.restrictions:
        same_category = (
            r.category_path is None
            or offer.category_path == r.category_path
            or (offer.category_path.startswith(r.category_path + "/"))
        )
        if (
            r.country == address.country
            and same_category
            and (offer.is_hazardous or not r.hazardous_only)
        ):
            return False, "product_restricted_in_country"
    if offer.stock < 1:
        return False, "out_of_stock"
    if offer.channel == "platform":
        if all(c.area.country != address.country for c in snap.coverage):
            return False, "country_not_served"
        serving = [c for c in snap.coverage if inside(c.area)]
        if len(serving) == 0:
            return False, "no_warehouse_serves_address"
        held = snap.stock.get(offer.offer_id, {})
        if not [c for c in serving if held.get(c.warehouse_id, 0) >= 1]:
            return False, "no_warehouse_stock_for_address"
        if address.is_po_box:
            return False, "po_box_not_supported"
        return True, "ok"
    template = snap.offer_templates.get(offer.offer_id, snap.default_templates.get(offer.seller_id))
    if template is None:
        return (
            (True, "ok")
            if address.country == offer.seller_country
            else (False, "seller_does_not_ship_to_region")
        )
    if address.country not in [area.country for area, _, _ in template.includes]:
        return False, "seller_does_not_ship_to_region"
    for area in template.excludes:
        if inside(area):
            return False, "postal_code_excluded"
    if not any(inside(area) for area, _, _ in template.includes):
        return False, "seller_does_not_ship_to_region"
    if address.is_po_box and not template.ships_to_po_boxes:
        return False, "po_box_not_supported"
    return True, "ok"


areas = st.builds(
    lambda country, kind, postal: (
        Area(country)
        if kind == 0
        else Area(country, prefix=postal[:2])
        if kind == 1
        else Area(country, postal_from=postal[:2], postal_to=str(int(postal[:2]) + 5).zfill(2))
    ),
    st.sampled_from(COUNTRIES),
    st.integers(0, 2),
    st.sampled_from([p for codes in POSTAL.values() for p in codes]),
)
coverages = st.lists(
    st.builds(
        lambda wid, area: Coverage(wid, f"w{wid}", "City", "DE", 1, area, 1, 3),
        st.integers(1, 3),
        areas,
    ),
    max_size=4,
)
templates = st.builds(
    lambda includes, excludes, po: TemplateRules(
        7, None, po, tuple((area, 1, 4) for area in includes), tuple(excludes)
    ),
    st.lists(areas, max_size=3),
    st.lists(areas, max_size=2),
    st.booleans(),
)
snapshots = st.builds(
    lambda coverage, stock, template, use_template, restricted: Snapshot(
        version="t",
        coverage=tuple(coverage),
        stock={1: stock},
        default_templates={5: template} if use_template else {},
        restrictions=tuple(restricted),
    ),
    coverages,
    st.dictionaries(st.integers(1, 3), st.integers(0, 2), max_size=3),
    templates,
    st.booleans(),
    st.lists(
        st.builds(
            lambda country, path, hazardous: Restriction(country, path, hazardous, "law"),
            st.sampled_from(COUNTRIES),
            st.sampled_from([None, "toys", "toys/guns", "books"]),
            st.booleans(),
        ),
        max_size=2,
    ),
)
offers = st.builds(
    lambda active, seller_active, stock, channel, path, hazardous, home: OfferFacts(
        1,
        5,
        home,
        seller_active,
        active,
        stock,
        channel,
        1,
        path,
        hazardous,
        Decimal("9.99"),
        "EUR",
    ),
    st.sampled_from([True, True, True, False]),
    st.sampled_from([True, True, True, False]),
    st.integers(0, 3),
    st.sampled_from(["platform", "seller"]),
    st.sampled_from(["toys", "toys/guns/water", "books", "garden"]),
    st.booleans(),
    st.sampled_from(COUNTRIES),
)
addresses = st.builds(
    lambda country, postal, po_box: AddressFacts(country, postal, po_box),
    st.sampled_from(COUNTRIES),
    st.sampled_from([p for codes in POSTAL.values() for p in codes]),
    st.booleans(),
)


@settings(max_examples=600, deadline=None)
@given(offers, addresses, snapshots)
def test_decision_agrees_with_the_brute_force_evaluator(offer, address, snap):
    decision = decide(offer, address, snap, date(2026, 11, 23))
    assert (decision.is_shippable, decision.reason_code) == brute_force(offer, address, snap)
    assert decision.is_shippable == (decision.earliest is not None)
    assert decision.trace[-1].rule == decision.reason_code


@settings(max_examples=300, deadline=None)
@given(
    offers, addresses, snapshots, coverages, st.dictionaries(st.integers(1, 3), st.integers(0, 2))
)
def test_seller_fulfilled_decisions_do_not_depend_on_platform_warehouses(
    offer, address, snap, other_coverage, other_stock
):
    """The incident as a property: whatever the warehouses cover or hold, a seller-fulfilled
    offer gets the same answer, reason and window."""
    seller_offer = dataclasses.replace(offer, channel="seller")
    rearranged = dataclasses.replace(snap, coverage=tuple(other_coverage), stock={1: other_stock})
    without = dataclasses.replace(snap, coverage=(), stock={})
    today = date(2026, 11, 23)
    decisions = {
        decide(seller_offer, address, variant, today) for variant in (snap, rearranged, without)
    }
    assert len(decisions) == 1
    decision = decisions.pop()
    assert decision.warehouse_id is None
    assert "warehouse" not in " ".join(step.rule for step in decision.trace)
    assert decision.earliest is None or decision.earliest <= decision.latest

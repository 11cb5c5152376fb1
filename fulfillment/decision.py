"""The shippability decision: pure rules over a snapshot, no database access.

Everything the decision needs arrives as facts (offer, address) and a rule snapshot (warehouses,
stock, shipping templates, restrictions), so a warm check issues no SQL, and the same function
answers on the product page, in the cart, at checkout and in the coverage checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING

from django.utils.translation import get_language, gettext_lazy

from core.clock import add_business_days
from fulfillment.choices import Reason
from fulfillment.constants import DEFAULT_TRANSIT_DAYS, PLATFORM_SHIPS_TO_PO_BOXES
from marketplace.choices import FulfilmentChannel
from marketplace.validation import postal_code_error

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise


def compact_postal(postal_code: str) -> str:
    return "".join(postal_code.upper().split())


@dataclass(frozen=True)
class Area:
    country: str
    prefix: str = ""
    postal_from: str = ""
    postal_to: str = ""

    def matches(self, country: str, postal: str) -> bool:
        """``postal`` is compacted (no spaces, upper case)."""
        if country != self.country:
            return False
        if self.prefix and not postal.startswith(compact_postal(self.prefix)):
            return False
        if self.postal_from:
            low, high = (
                compact_postal(self.postal_from),
                compact_postal(self.postal_to or self.postal_from),
            )
            head = postal[: len(low)]
            if not low <= head <= high:
                return False
        return True


@dataclass(frozen=True)
class Coverage:
    warehouse_id: int
    warehouse_code: str
    warehouse_city: str
    warehouse_country: str
    handling_days: int
    area: Area
    transit_min: int
    transit_max: int


@dataclass(frozen=True)
class TemplateRules:
    template_id: int
    handling_days: int | None
    ships_to_po_boxes: bool
    includes: tuple[tuple[Area, int, int], ...]
    excludes: tuple[Area, ...]


@dataclass(frozen=True)
class Restriction:
    country: str
    category_path: str | None
    hazardous_only: bool
    reason: str

    def applies(self, country: str, category_path: str, is_hazardous: bool) -> bool:
        if country != self.country or (self.hazardous_only and not is_hazardous):
            return False
        if self.category_path is None:
            return True
        return category_path == self.category_path or category_path.startswith(
            f"{self.category_path}/"
        )


@dataclass(frozen=True)
class Snapshot:
    version: str
    coverage: tuple[Coverage, ...] = ()
    # offer id -> warehouse id -> units; only "above zero" counts, so a sale that leaves units in a
    # warehouse does not invalidate the snapshot (see services.warehouses).
    stock: Mapping[int, Mapping[int, int]] = field(default_factory=dict)
    default_templates: Mapping[int, TemplateRules] = field(default_factory=dict)
    offer_templates: Mapping[int, TemplateRules] = field(default_factory=dict)
    restrictions: tuple[Restriction, ...] = ()


@dataclass(frozen=True)
class OfferFacts:
    offer_id: int
    seller_id: int
    seller_country: str
    is_seller_active: bool
    is_offer_active: bool
    stock: int
    channel: str
    handling_days: int
    category_path: str
    is_hazardous: bool
    price: Decimal
    currency: str


@dataclass(frozen=True)
class AddressFacts:
    country: str
    postal_code: str
    is_po_box: bool


@dataclass(frozen=True)
class TraceStep:
    rule: str
    passed: bool
    detail: str = ""


@dataclass(frozen=True)
class Decision:
    is_shippable: bool
    fulfilled_by: str
    reason_code: str
    message: str
    ships_from: str | None
    earliest: date | None
    latest: date | None
    trace: tuple[TraceStep, ...]
    warehouse_id: int | None = None  # platform-fulfilled: the warehouse the parcel leaves from


# The sentences name the country as people say it, not as its ISO code.
COUNTRY_NAMES = {
    "AT": gettext_lazy("Austria"),
    "BE": gettext_lazy("Belgium"),
    "CH": gettext_lazy("Switzerland"),
    "DE": gettext_lazy("Germany"),
    "DK": gettext_lazy("Denmark"),
    "ES": gettext_lazy("Spain"),
    "FR": gettext_lazy("France"),
    "GB": gettext_lazy("the United Kingdom"),
    "IE": gettext_lazy("Ireland"),
    "IT": gettext_lazy("Italy"),
    "NL": gettext_lazy("the Netherlands"),
    "PL": gettext_lazy("Poland"),
    "SE": gettext_lazy("Sweden"),
    "US": gettext_lazy("the United States"),
}


# Steps that passed without a detail are the same every time: shared, not rebuilt per decision.
_PASSED = {
    "address_valid": TraceStep("address_valid", True),
    "country_served_by_platform": TraceStep("country_served_by_platform", True),
    "offer_active": TraceStep("offer_active", True),
    "ok": TraceStep("ok", True),
    "po_box_ok": TraceStep("po_box_ok", True),
    "postal_code_not_excluded": TraceStep("postal_code_not_excluded", True),
    "product_allowed_in_country": TraceStep("product_allowed_in_country", True),
    "seller_active": TraceStep("seller_active", True),
    "seller_ships_to_country": TraceStep("seller_ships_to_country", True),
    "seller_ships_to_region": TraceStep("seller_ships_to_region", True),
    "warehouse_has_stock": TraceStep("warehouse_has_stock", True),
}


_MESSAGES: dict[str, _StrPromise] = {
    Reason.OK: gettext_lazy("This item can be delivered to this address."),
    Reason.OFFER_INACTIVE: gettext_lazy("This offer is no longer available."),
    Reason.SELLER_NOT_ACTIVE: gettext_lazy("This seller cannot take orders at the moment."),
    Reason.OUT_OF_STOCK: gettext_lazy("This item is out of stock."),
    Reason.ADDRESS_INVALID: gettext_lazy(
        "The delivery address is not complete or not valid; please check the postal code."
    ),
    Reason.COUNTRY_NOT_SERVED: gettext_lazy(
        "We do not ship this item to %(country)s from our warehouses."
    ),
    Reason.POSTAL_CODE_EXCLUDED: gettext_lazy("The seller does not deliver to this postal code."),
    Reason.NO_WAREHOUSE_SERVES_ADDRESS: gettext_lazy(
        "None of our warehouses delivers to this postal code in %(country)s."
    ),
    Reason.NO_WAREHOUSE_STOCK_FOR_ADDRESS: gettext_lazy(
        "The warehouses that deliver to this address have no stock of this item right now."
    ),
    Reason.SELLER_DOES_NOT_SHIP_TO_REGION: gettext_lazy(
        "The seller does not ship to this region of %(country)s."
    ),
    Reason.PO_BOX_NOT_SUPPORTED: gettext_lazy(
        "This item cannot be delivered to a PO box; please choose a street address."
    ),
    Reason.PRODUCT_RESTRICTED_IN_COUNTRY: gettext_lazy(
        "This item may not be shipped to %(country)s: %(detail)s."
    ),
}


def _message(reason: str, address: AddressFacts, detail: str = "") -> str:
    """A sentence a support agent can read out to the customer, in the active language."""
    # Only a restriction's sentence quotes its detail; other details (postal codes) stay in the
    # trace, so the cache below holds a few sentences per language, not one per postal code.
    quoted = detail if reason == Reason.PRODUCT_RESTRICTED_IN_COUNTRY else ""
    return _sentence(get_language(), reason, address.country, quoted)


@lru_cache(maxsize=4096)
def _sentence(language: str | None, reason: str, country: str, detail: str) -> str:
    # Cached per language: a product page asks for the same few sentences over and over.
    text = str(_MESSAGES[reason])
    if "%(" in text:
        return text % {"country": COUNTRY_NAMES.get(country, country), "detail": detail}
    return text


@lru_cache(maxsize=4096)
def _window(
    today: date, handling: int, transit: tuple[int, int], origin: str, destination: str
) -> tuple[date, date]:
    """Handling days in the origin's calendar, then transit days in the destination's."""
    dispatched = add_business_days(today, handling, origin)
    return (
        add_business_days(dispatched, transit[0], destination),
        add_business_days(dispatched, transit[1], destination),
    )


def decide(offer: OfferFacts, address: AddressFacts, snapshot: Snapshot, today: date) -> Decision:
    """The one decision. Rules run in a fixed order; the first that fails gives the reason."""
    trace: list[TraceStep] = []
    fulfilled_by = offer.channel
    postal = compact_postal(address.postal_code)

    def refuse(reason: str, detail: str = "") -> Decision:
        code = str(reason)  # the plain string, not the enum member: it goes into JSON and logs
        trace.append(TraceStep(code, False, detail))
        return Decision(
            False,
            fulfilled_by,
            code,
            _message(reason, address, detail),
            None,
            None,
            None,
            tuple(trace),
        )

    if not offer.is_offer_active:
        return refuse(Reason.OFFER_INACTIVE)
    trace.append(_PASSED["offer_active"])
    if not offer.is_seller_active:
        return refuse(Reason.SELLER_NOT_ACTIVE)
    trace.append(_PASSED["seller_active"])
    if postal_code_error(address.country, address.postal_code) is not None:
        return refuse(Reason.ADDRESS_INVALID, f"{address.country} {address.postal_code}")
    trace.append(_PASSED["address_valid"])
    for restriction in snapshot.restrictions:
        if restriction.applies(address.country, offer.category_path, offer.is_hazardous):
            return refuse(Reason.PRODUCT_RESTRICTED_IN_COUNTRY, restriction.reason)
    trace.append(_PASSED["product_allowed_in_country"])
    if offer.stock <= 0:
        return refuse(Reason.OUT_OF_STOCK)
    trace.append(TraceStep("in_stock", True, str(offer.stock)))

    if offer.channel == FulfilmentChannel.PLATFORM:
        in_country = [c for c in snapshot.coverage if c.area.country == address.country]
        if not in_country:
            return refuse(Reason.COUNTRY_NOT_SERVED)
        trace.append(_PASSED["country_served_by_platform"])
        serving = [c for c in in_country if c.area.matches(address.country, postal)]
        if not serving:
            return refuse(Reason.NO_WAREHOUSE_SERVES_ADDRESS, postal)
        trace.append(
            TraceStep(
                "warehouse_serves_address",
                True,
                ",".join(sorted({c.warehouse_code for c in serving})),
            )
        )
        stock = snapshot.stock.get(offer.offer_id, {})
        stocked = [c for c in serving if stock.get(c.warehouse_id, 0) > 0]
        if not stocked:
            return refuse(Reason.NO_WAREHOUSE_STOCK_FOR_ADDRESS)
        trace.append(_PASSED["warehouse_has_stock"])
        if address.is_po_box and not PLATFORM_SHIPS_TO_PO_BOXES:
            return refuse(Reason.PO_BOX_NOT_SUPPORTED)
        trace.append(_PASSED["po_box_ok"])
        best = min(
            stocked,
            key=lambda c: (
                c.handling_days + c.transit_max,
                c.handling_days + c.transit_min,
                c.warehouse_code,
            ),
        )
        earliest, latest = _window(
            today,
            best.handling_days,
            (best.transit_min, best.transit_max),
            best.warehouse_country,
            address.country,
        )
        ships_from = f"{best.warehouse_city}, {best.warehouse_country} ({best.warehouse_code})"
        warehouse_id: int | None = best.warehouse_id
    else:
        # Seller-fulfilled: the seller's own template decides. Platform warehouses play no part.
        template = snapshot.offer_templates.get(offer.offer_id) or snapshot.default_templates.get(
            offer.seller_id
        )
        if template is None:
            includes: tuple[tuple[Area, int, int], ...] = (
                (Area(offer.seller_country), *DEFAULT_TRANSIT_DAYS),
            )
            excludes: tuple[Area, ...] = ()
            handling, po_boxes = offer.handling_days, True
            trace.append(TraceStep("template", True, "none: the seller's own country"))
        else:
            includes, excludes = template.includes, template.excludes
            handling = (
                template.handling_days
                if template.handling_days is not None
                else offer.handling_days
            )
            po_boxes = template.ships_to_po_boxes
            trace.append(TraceStep("template", True, str(template.template_id)))
        if not any(area.country == address.country for area, _low, _high in includes):
            return refuse(Reason.SELLER_DOES_NOT_SHIP_TO_REGION, address.country)
        trace.append(_PASSED["seller_ships_to_country"])
        if any(area.matches(address.country, postal) for area in excludes):
            return refuse(Reason.POSTAL_CODE_EXCLUDED, postal)
        trace.append(_PASSED["postal_code_not_excluded"])
        matching = [
            (low, high) for area, low, high in includes if area.matches(address.country, postal)
        ]
        if not matching:
            return refuse(Reason.SELLER_DOES_NOT_SHIP_TO_REGION, postal)
        trace.append(_PASSED["seller_ships_to_region"])
        if address.is_po_box and not po_boxes:
            return refuse(Reason.PO_BOX_NOT_SUPPORTED)
        trace.append(_PASSED["po_box_ok"])
        transit = min(matching, key=lambda pair: (pair[1], pair[0]))
        earliest, latest = _window(today, handling, transit, offer.seller_country, address.country)
        ships_from = offer.seller_country
        warehouse_id = None
    trace.append(_PASSED["ok"])
    return Decision(
        True,
        fulfilled_by,
        "ok",
        _message(Reason.OK, address),
        ships_from,
        earliest,
        latest,
        tuple(trace),
        warehouse_id,
    )

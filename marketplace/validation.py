"""Country rules for addresses and carrier rules for tracking numbers."""

from __future__ import annotations

import re

# Postal code formats of the countries the marketplace delivers to (Universal Postal Union formats).
POSTAL_CODE_FORMATS: dict[str, re.Pattern[str]] = {
    "DE": re.compile(r"^\d{5}$"),
    "AT": re.compile(r"^\d{4}$"),
    "CH": re.compile(r"^\d{4}$"),
    "FR": re.compile(r"^\d{5}$"),
    "IT": re.compile(r"^\d{5}$"),
    "ES": re.compile(r"^\d{5}$"),
    "NL": re.compile(r"^\d{4} ?[A-Z]{2}$"),
    "BE": re.compile(r"^\d{4}$"),
    "PL": re.compile(r"^\d{2}-\d{3}$"),
    "DK": re.compile(r"^\d{4}$"),
    "SE": re.compile(r"^\d{3} ?\d{2}$"),
    "GB": re.compile(r"^[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}$"),
    "IE": re.compile(r"^[A-Z]\d[\dW] ?[A-Z\d]{4}$"),
    "US": re.compile(r"^\d{5}(-\d{4})?$"),
}
SUPPORTED_COUNTRIES = frozenset(POSTAL_CODE_FORMATS)

# Tracking number formats per carrier; a number that does not match is not "valid tracking".
TRACKING_FORMATS: dict[str, re.Pattern[str]] = {
    "dhl": re.compile(r"^(\d{10,20}|JJD\d{10,20})$"),
    "dpd": re.compile(r"^\d{14}$"),
    "ups": re.compile(r"^1Z[0-9A-Z]{16}$"),
    "gls": re.compile(r"^[0-9A-Z]{8,12}$"),
    "hermes": re.compile(r"^[0-9A-Z]{14,20}$"),
    "fedex": re.compile(r"^\d{12}(\d{3})?$"),
    "usps": re.compile(r"^\d{20,22}$"),
    "royalmail": re.compile(r"^[A-Z]{2}\d{9}GB$"),
}
# "other": a carrier we cannot verify; accepted, but the shipment does not count as valid tracking.
OTHER_CARRIER = "other"
CARRIERS = (*sorted(TRACKING_FORMATS), OTHER_CARRIER)


def normalise_postal_code(country: str, postal_code: str) -> str:
    return " ".join(postal_code.upper().split())


def postal_code_error(country: str, postal_code: str) -> str | None:
    """None when the postal code is well-formed for the country, else a reason."""
    if country not in SUPPORTED_COUNTRIES:
        return "country_not_supported"
    if not POSTAL_CODE_FORMATS[country].match(normalise_postal_code(country, postal_code)):
        return "postal_code_malformed"
    return None


def normalise_tracking_number(tracking_number: str) -> str:
    return "".join(tracking_number.upper().split())


def is_valid_tracking(carrier: str, tracking_number: str) -> bool:
    pattern = TRACKING_FORMATS.get(carrier.lower())
    return bool(pattern and pattern.match(normalise_tracking_number(tracking_number)))

"""The dashboard navigation: each area adds its entry; the layout shows those that exist."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class NavEntry:
    label: str | Promise
    url_name: str
    order: int


ENTRIES: list[NavEntry] = [
    NavEntry(_("Overview"), "dashboard:home", 0),
    NavEntry(_("Orders"), "dashboard:orders", 10),
    NavEntry(_("Offers"), "dashboard:offers", 20),
    NavEntry(_("Shippability"), "dashboard:shippability", 30),
    NavEntry(_("Seller rating"), "dashboard:rating", 40),
    NavEntry(_("Account health"), "dashboard:health", 50),
]


def visible_entries() -> list[tuple[str | Promise, str]]:
    """Entries whose page is installed, as (label, url), in menu order."""
    visible = []
    for entry in sorted(ENTRIES, key=lambda item: item.order):
        try:
            visible.append((entry.label, reverse(entry.url_name)))
        except NoReverseMatch:
            continue
    return visible

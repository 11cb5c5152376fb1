from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from dashboard.navigation import visible_entries


def dashboard(request: HttpRequest) -> dict[str, Any]:
    """The menu and the signed-in seller for every dashboard page (nothing elsewhere)."""
    if not request.path.startswith("/dashboard/"):
        return {}
    entries = visible_entries()
    # The entry with the longest address that starts the current one is current: an order's page
    # belongs to Orders, and the overview's address (a prefix of all) only to itself.
    matches = [url for _label, url in entries if request.path.startswith(url)]
    current = max(matches, key=len, default=None)
    return {
        "dashboard_nav": [(label, url, url == current) for label, url in entries],
        "seller": getattr(request, "seller", None),
    }

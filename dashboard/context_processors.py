from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from dashboard.navigation import visible_entries


def dashboard(request: HttpRequest) -> dict[str, Any]:
    if not request.path.startswith("/dashboard/"):
        return {}
    return {"dashboard_nav": visible_entries(), "seller": getattr(request, "seller", None)}

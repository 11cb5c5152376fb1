"""Operations endpoints: health and metrics. Public on purpose: load balancers and Prometheus."""

from __future__ import annotations

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

CELERY_PING_TIMEOUT = 1.0  # seconds; a health check must answer quickly even with no worker


def health(request: HttpRequest) -> JsonResponse:
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception:  # noqa: BLE001 - any failure means "down" to a health check
        checks["database"] = "down"
    try:
        cache.set("health:probe", "1", 10)
        checks["cache"] = "ok" if cache.get("health:probe") == "1" else "down"
    except Exception:  # noqa: BLE001
        checks["cache"] = "down"
    if request.GET.get("celery") == "0":
        checks["celery"] = "skipped"
    else:
        try:
            from celery import current_app

            replies = current_app.control.ping(timeout=CELERY_PING_TIMEOUT)
            checks["celery"] = "ok" if replies else "no_workers"
        except Exception:  # noqa: BLE001
            checks["celery"] = "down"
    healthy = checks["database"] == "ok" and checks["cache"] == "ok"
    return JsonResponse(
        {"status": "ok" if healthy else "degraded", "checks": checks},
        status=200 if healthy else 503,
    )


def metrics(request: HttpRequest) -> HttpResponse:
    return HttpResponse(generate_latest(), content_type=CONTENT_TYPE_LATEST)

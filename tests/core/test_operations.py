from __future__ import annotations

import json
import logging

import pytest

from core.logging import RequestIdFilter, request_id_var


@pytest.mark.django_db
def test_health_reports_database_and_cache(client):
    response = client.get("/health/?celery=0")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok", "celery": "skipped"},
    }


@pytest.mark.django_db
def test_health_with_no_celery_worker_says_so_but_stays_up(client):
    response = client.get("/health/")
    assert response.status_code == 200
    assert response.json()["checks"]["celery"] in {"ok", "no_workers"}


@pytest.mark.django_db
def test_metrics_count_requests_per_route(client):
    client.get("/health/?celery=0")
    body = client.get("/metrics").content.decode()
    assert 'http_requests_total{method="GET",route="health/",status="200"}' in body


@pytest.mark.django_db
def test_request_id_is_echoed_or_made(client):
    given = client.get("/health/?celery=0", HTTP_X_REQUEST_ID="abc-123")
    made = client.get("/health/?celery=0", HTTP_X_REQUEST_ID="bad id with spaces")
    assert given["X-Request-ID"] == "abc-123"
    assert len(made["X-Request-ID"]) == 32


def test_log_records_carry_the_request_id_as_json():
    from pythonjsonlogger.json import JsonFormatter

    record = logging.LogRecord("shop", logging.INFO, __file__, 1, "placed", None, None)
    token = request_id_var.set("req-42")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id_var.reset(token)
    line = JsonFormatter("%(levelname)s %(message)s %(request_id)s").format(record)
    assert json.loads(line) == {"levelname": "INFO", "message": "placed", "request_id": "req-42"}

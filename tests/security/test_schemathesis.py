"""Property-based tests over the whole OpenAPI schema, as a shopper and as a seller: no server
errors, and every response matches the documented schema."""

from __future__ import annotations

import uuid

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from config.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """In-process WSGI calls would close the test's connection at each request's end; Django's
    own test client switches that off the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(params=["shopper", "seller"])
def token(request, shopper, seller):
    user = shopper if request.param == "shopper" else seller.owner
    return Token.objects.get_or_create(user=user)[0].key


_TALLY: dict[str, int] = {"cases": 0, "failed": 0}
_OPERATIONS: set[str] = set()


@pytest.fixture(scope="module", autouse=True)
def _figure():
    yield
    print(
        f"\nRELIABILITY | schemathesis over the whole schema, as a shopper and as a seller | "
        f"{len(_OPERATIONS)} operations, {_TALLY['cases']} cases, {_TALLY['failed']} with a server "
        "error or a schema violation"
    )


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors_and_responses_match_the_schema(case, token):
    response = case.call(
        headers={"Authorization": f"Token {token}", "Idempotency-Key": uuid.uuid4().hex}
    )
    _TALLY["cases"] += 1
    _OPERATIONS.add(case.operation.label)
    try:
        case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
    except Exception:
        _TALLY["failed"] += 1
        raise

from importlib import import_module

import pytest
from django.apps import apps


@pytest.fixture(autouse=True)
def _policy_catalogue(django_db_setup, django_db_blocker):
    """A transactional test elsewhere empties the tables when it ends, the migrated policy
    catalogue with them; every test here starts with the catalogue in place."""
    with django_db_blocker.unblock():
        import_module("account_health.migrations.0002_policy_catalogue").create(apps, None)

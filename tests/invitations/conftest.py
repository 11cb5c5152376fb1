from __future__ import annotations

import pytest

from config.celery import app


@pytest.fixture(autouse=True)
def _eager_celery():
    """Tasks queued after a commit (the not-drawn notices) run inline, never on a shared broker."""
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False

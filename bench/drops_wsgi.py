"""The project's WSGI application with its URLconf (and every view module) imported up front.

Django imports the URLconf only on the first request. Loaded with gunicorn's --preload, this does
it once in the master before it listens, so on a busy 2-core machine no worker's first request
outlasts the harness's 2-second health check. Candidate and baseline share the server."""

from django.urls import get_resolver

from config.wsgi import application

get_resolver().url_patterns  # noqa: B018 - imports the URLconf and the views it names

__all__ = ["application"]

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()


def _warm_up() -> None:
    """Do now, while the application loads, what Django would otherwise do on a worker's first
    request: import the URLconf with every view, read the translation catalogues and import the
    Redis client. That first request took 100-500 ms before, long enough to show in the p99 of a
    busy minute. With gunicorn's --preload this happens once, in the master, before it forks."""
    import redis  # noqa: F401 - Django's Redis cache imports it only when first used
    from django.conf import settings
    from django.urls import get_resolver
    from django.utils.translation import trans_real

    get_resolver().url_patterns  # noqa: B018 - imports the URLconf and the views it names
    for code, _name in settings.LANGUAGES:
        trans_real.translation(code)


_warm_up()

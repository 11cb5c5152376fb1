from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FulfillmentConfig(AppConfig):
    name = "fulfillment"
    verbose_name = _("Fulfillment")

    def ready(self) -> None:
        from fulfillment import (
            events,  # noqa: F401 - registers outbox handlers
            signals,
        )

        signals.connect()

from django.apps import AppConfig


class FulfillmentConfig(AppConfig):
    name = "fulfillment"
    verbose_name = "Fulfillment"

    def ready(self) -> None:
        from fulfillment import signals

        signals.connect()

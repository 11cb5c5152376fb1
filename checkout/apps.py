from django.apps import AppConfig


class CheckoutConfig(AppConfig):
    name = "checkout"

    def ready(self) -> None:
        from checkout import events  # noqa: F401 - registers outbox handlers

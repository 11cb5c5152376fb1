from django.apps import AppConfig


class AccountHealthConfig(AppConfig):
    name = "account_health"
    verbose_name = "Account health"

    def ready(self) -> None:
        from account_health import events  # noqa: F401 - registers outbox handlers

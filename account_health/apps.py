from django.apps import AppConfig


class AccountHealthConfig(AppConfig):
    name = "account_health"

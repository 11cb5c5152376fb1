from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InvitationsConfig(AppConfig):
    name = "invitations"
    verbose_name = _("Invite-only drops")

    def ready(self) -> None:
        from invitations import events  # noqa: F401 - registers outbox handlers

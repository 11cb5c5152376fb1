from django.db import models
from django.utils.translation import gettext_lazy as _


class DropStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("scheduled")
    OPEN = "open", _("open")
    CLOSED = "closed", _("closed")
    DRAWN = "drawn", _("drawn")
    COMPLETED = "completed", _("completed")


class RequestState(models.TextChoices):
    RECEIVED = "received", _("received")
    SCREENED_OUT = "screened_out", _("screened out")
    NOT_DRAWN = "not_drawn", _("not drawn")
    INVITED = "invited", _("invited")
    PURCHASED = "purchased", _("purchased")
    EXPIRED = "expired", _("expired")


class InvitationStatus(models.TextChoices):
    INVITED = "invited", _("invited")
    PURCHASED = "purchased", _("purchased")
    EXPIRED = "expired", _("expired")


class AppealStatus(models.TextChoices):
    NONE = "", _("no appeal")
    PENDING = "pending", _("pending")
    ADMITTED = "admitted", _("admitted")
    REJECTED = "rejected", _("rejected")

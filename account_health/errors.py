from django.utils.translation import gettext_lazy as _

from core.errors import Conflict, DomainError, NotFound


class ViolationNotFound(NotFound):
    code = "violation_not_found"
    default_detail = _("No such violation.")


class ViolationNotOpen(Conflict):
    code = "violation_not_open"
    default_detail = _("This violation is not open.")


class NotCritical(DomainError):
    code = "seller_not_critical"
    status = 409
    default_detail = _("Only a seller whose account health is Critical can be deactivated.")


class DeactivationNotFound(NotFound):
    code = "deactivation_not_found"
    default_detail = _("There is no deactivation to appeal.")


class AppealWindowClosed(DomainError):
    code = "appeal_window_closed"
    status = 409
    default_detail = _("The time to appeal this deactivation has passed.")


class AppealExists(Conflict):
    code = "appeal_already_submitted"
    default_detail = _("An appeal is already waiting for a decision.")


class StatementRequired(DomainError):
    code = "validation_error"
    default_detail = _("A statement is required.")

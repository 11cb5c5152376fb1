from django.utils.translation import gettext_lazy as _

from core.errors import DomainError, NotFound


class DropNotFound(NotFound):
    code = "drop_not_found"
    default_detail = _("No such drop.")


class DropNotOpen(DomainError):
    code = "drop_not_open"
    status = 409
    default_detail = _("Requests for this drop are not open.")


class CountryNotEligible(DomainError):
    code = "country_not_eligible"
    status = 409
    default_detail = _("This drop is not available in your country yet.")


class AddressRequired(DomainError):
    code = "address_required"
    default_detail = _("Add a delivery address before requesting an invitation.")


class InvitationRequired(DomainError):
    code = "invitation_required"
    status = 403
    default_detail = _("This offer is available by invitation only.")


class InvitationExpired(DomainError):
    code = "invitation_expired"
    status = 403
    default_detail = _("Your invitation has expired.")


class InvitationUsed(DomainError):
    code = "invitation_used"
    status = 409
    default_detail = _("Your invitation has already been used.")


class InvitationQuantity(DomainError):
    code = "invitation_quantity"
    default_detail = _("An invitation is for one unit.")


class RequestNotFound(NotFound):
    code = "drop_request_not_found"
    default_detail = _("No such invitation request.")


class NotScreenedOut(DomainError):
    code = "drop_request_not_screened_out"
    status = 409
    default_detail = _("Only a screened-out request can be appealed.")


class AppealTextRequired(DomainError):
    code = "validation_error"
    default_detail = _("Tell us why your request should be reconsidered.")


class AddressNotFound(NotFound):
    code = "address_not_found"
    default_detail = _("No such address in your account.")


class AppealAlreadyDecided(DomainError):
    code = "drop_appeal_decided"
    status = 409
    default_detail = _("Your appeal has already been decided.")


class DrawNotPossible(DomainError):
    code = "drop_draw_not_possible"
    status = 409
    default_detail = _("This drop cannot be drawn now.")


class NotEnoughStock(DomainError):
    code = "drop_not_enough_stock"
    status = 409
    default_detail = _("The offer does not have enough stock for the units of this drop.")


class DropInvalid(DomainError):
    code = "validation_error"
    default_detail = _("The drop is not valid.")

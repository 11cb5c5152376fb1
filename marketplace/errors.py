from django.utils.translation import gettext_lazy as _

from core.errors import Conflict, DomainError, NotFound


class AddressInvalid(DomainError):
    code = "address_invalid"
    default_detail = _("The address is not valid.")


class OrderNotFound(NotFound):
    code = "order_not_found"
    default_detail = _("No such order.")


class OfferNotFound(NotFound):
    code = "offer_not_found"
    default_detail = _("No such offer.")


class AddressNotFound(NotFound):
    code = "address_not_found"
    default_detail = _("No such address.")


class MessageNotFound(NotFound):
    code = "message_not_found"
    default_detail = _("No such message.")


class OrderStateInvalid(Conflict):
    code = "order_state_invalid"
    default_detail = _("The order is not in a state that allows this.")


class TrackingInvalid(DomainError):
    code = "tracking_number_invalid"
    default_detail = _("The tracking number is not valid for this carrier.")


class FeedbackExists(Conflict):
    code = "feedback_already_left"
    default_detail = _("Feedback was already left for this order.")


class ClaimExists(Conflict):
    code = "claim_already_filed"
    default_detail = _("An A-to-z guarantee claim was already filed for this order.")


class MessageAlreadyReplied(Conflict):
    code = "message_already_replied"
    default_detail = _("This message was already answered.")


class EmailTaken(DomainError):
    code = "email_taken"
    default_detail = _("An account with this e-mail address exists.")


class OfferInvalid(DomainError):
    code = "offer_invalid"
    default_detail = _("The offer values are not valid.")

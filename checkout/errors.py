from django.utils.translation import gettext_lazy as _

from core.errors import Conflict, DomainError, NotFound


class CartInvalid(DomainError):
    code = "cart_invalid"
    default_detail = _("The cart is not valid.")


class OfferUnavailable(DomainError):
    code = "offer_inactive"
    status = 409
    default_detail = _("This offer is no longer available.")


class SellerNotActive(DomainError):
    code = "seller_not_active"
    status = 409
    default_detail = _("This seller cannot take orders at the moment.")


class OutOfStock(Conflict):
    code = "out_of_stock"
    default_detail = _("Not enough stock left for this offer.")


class CheckoutAddressNotFound(NotFound):
    code = "address_not_found"
    default_detail = _("No such address.")

from django.db import models
from django.utils.translation import gettext_lazy as _


class Reason(models.TextChoices):
    OK = "ok", _("ok")
    OFFER_INACTIVE = "offer_inactive", _("offer inactive")
    SELLER_NOT_ACTIVE = "seller_not_active", _("seller not active")
    OUT_OF_STOCK = "out_of_stock", _("out of stock")
    ADDRESS_INVALID = "address_invalid", _("address invalid")
    COUNTRY_NOT_SERVED = "country_not_served", _("country not served")
    POSTAL_CODE_EXCLUDED = "postal_code_excluded", _("postal code excluded")
    NO_WAREHOUSE_SERVES_ADDRESS = (
        "no_warehouse_serves_address",
        _("no warehouse serves the address"),
    )
    NO_WAREHOUSE_STOCK_FOR_ADDRESS = (
        "no_warehouse_stock_for_address",
        _("no stock in a warehouse serving the address"),
    )
    SELLER_DOES_NOT_SHIP_TO_REGION = (
        "seller_does_not_ship_to_region",
        _("seller does not ship to the region"),
    )
    PO_BOX_NOT_SUPPORTED = "po_box_not_supported", _("PO box not supported")
    PRODUCT_RESTRICTED_IN_COUNTRY = (
        "product_restricted_in_country",
        _("product restricted in the country"),
    )


class IncidentStatus(models.TextChoices):
    OPEN = "open", _("open")
    CONFIRMED = "confirmed", _("confirmed")
    RESOLVED = "resolved", _("resolved")

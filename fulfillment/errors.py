"""Domain errors of fulfillment, each with a stable code."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

from core.errors import Conflict, DomainError, NotFound, PermissionDenied

if TYPE_CHECKING:
    from fulfillment.decision import Decision


class ShippabilityRefused(Conflict):
    """The decision refused. The code is its reason code (``seller_does_not_ship_to_region``, ...),
    the detail the sentence a support agent reads out."""

    code = "shippability_refused"  # replaced by the decision's reason code

    def __init__(self, decision: Decision, offer_id: int) -> None:
        super().__init__(
            decision.message,
            code=decision.reason_code,
            extra={"offer_id": offer_id, "fulfilled_by": decision.fulfilled_by},
        )


class OverrideForbidden(PermissionDenied):
    code = "permission_denied"
    default_detail = _("Only staff may override a refusal.")


class OverrideReasonMissing(DomainError):
    code = "validation_error"
    default_detail = _("An override needs a reason.")


class OverrideNotAllowed(Conflict):
    code = "override_not_allowed"
    default_detail = _("Only a refusal with a confirmed incident can be overridden.")


class TemplateInvalid(DomainError):
    code = "template_invalid"
    default_detail = _("The template is not valid.")


class TemplateNotFound(NotFound):
    code = "template_not_found"
    default_detail = _("No such template.")

"""A seller's shipping templates: every write, each followed by a coverage check."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from core import outbox
from fulfillment import errors, rules
from fulfillment.models import ShippingRule, ShippingTemplate
from fulfillment.services.coverage import coverage_schedule_for_templates, template_rules_json
from marketplace.models import Offer, Seller


def _validate(rules_data: Sequence[dict[str, Any]]) -> dict[str, list[str]]:
    field_errors: dict[str, list[str]] = {}
    for index, rule in enumerate(rules_data):
        if rule.get("postal_to") and not rule.get("postal_from"):
            field_errors[f"rules.{index}.postal_from"] = [_("A range needs its first postal code.")]
        if (rule.get("postal_from") or "") > (
            rule.get("postal_to") or rule.get("postal_from") or ""
        ):
            field_errors[f"rules.{index}.postal_to"] = [_("The range ends before it starts.")]
        if int(rule.get("transit_days_max", 3)) < int(rule.get("transit_days_min", 1)):
            field_errors[f"rules.{index}.transit_days_max"] = [_("Must not be below the minimum.")]
    return field_errors


def template_save(
    seller: Seller,
    *,
    template_id: int | None,
    name: str,
    is_default: bool,
    handling_days: int | None,
    ships_to_po_boxes: bool,
    rules_data: Sequence[dict[str, Any]],
    offer_ids: Sequence[int],
) -> ShippingTemplate:
    """Create or replace one of the seller's templates with its rules; a coverage check then
    reports the regions the change made unbuyable."""
    field_errors = _validate(rules_data)
    own_offers = list(Offer.objects.filter(seller=seller, pk__in=list(offer_ids)))
    if len(own_offers) != len(set(offer_ids)):
        field_errors["offer_ids"] = [_("Only your own offers can use your templates.")]
    if field_errors:
        raise errors.TemplateInvalid(fields=field_errors)
    with transaction.atomic():
        # The seller's templates are locked together: saving one may move the default flag.
        locked = list(
            ShippingTemplate.objects.select_for_update().filter(seller=seller).order_by("pk")
        )
        if template_id is None:
            template = ShippingTemplate(seller=seller)
        else:
            found = next((t for t in locked if t.pk == template_id), None)
            if found is None:
                raise errors.TemplateNotFound()
            template = found
        replaced = [t.pk for t in locked if t.pk == template_id or (is_default and t.is_default)]
        before = template_rules_json(replaced)
        if is_default:
            ShippingTemplate.objects.filter(seller=seller, is_default=True).exclude(
                pk=template.pk
            ).update(is_default=False)
        template.name = name
        template.is_default = is_default
        template.handling_days = handling_days
        template.ships_to_po_boxes = ships_to_po_boxes
        template.save()
        template.rules.all().delete()
        ShippingRule.objects.bulk_create(
            [
                ShippingRule(
                    template=template,
                    country=rule["country"].upper(),
                    postal_prefix=rule.get("postal_prefix", ""),
                    postal_from=rule.get("postal_from", ""),
                    postal_to=rule.get("postal_to", ""),
                    is_excluded=rule.get("is_excluded", False),
                    transit_days_min=rule.get("transit_days_min", 1),
                    transit_days_max=rule.get("transit_days_max", 3),
                )
                for rule in rules_data
            ]
        )
        template.offers.set(own_offers)
        rules.bump_version()
        outbox.emit(
            "shipping_template.saved",
            {"template_id": template.pk, "seller_id": seller.pk, "created": template_id is None},
        )
        coverage_schedule_for_templates(
            seller.pk,
            replaced_ids=[*replaced, template.pk],
            before=before,
            trigger=f"template {template.pk} saved",
        )
    return template


def template_delete(seller: Seller, *, template_id: int) -> None:
    with transaction.atomic():
        template = (
            ShippingTemplate.objects.select_for_update()
            .filter(seller=seller, pk=template_id)
            .first()
        )
        if template is None:
            raise errors.TemplateNotFound()
        before = template_rules_json([template.pk])
        template.delete()
        rules.bump_version()
        outbox.emit(
            "shipping_template.deleted", {"template_id": template_id, "seller_id": seller.pk}
        )
        coverage_schedule_for_templates(
            seller.pk,
            replaced_ids=[template_id],
            before=before,
            trigger=f"template {template_id} deleted",
        )


def template_changed_by_staff(
    template_id: int, *, seller_id: int, before: list[dict[str, Any]], actor: Any
) -> None:
    """Staff edited a template in admin: the same coverage check as a seller's own edit."""
    rules.bump_version()
    coverage_schedule_for_templates(
        seller_id,
        replaced_ids=[template_id, *(data["template_id"] for data in before)],
        before=before,
        trigger=f"template {template_id} changed by staff {getattr(actor, 'pk', '')}",
    )

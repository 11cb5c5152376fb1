"""Every write of fulfillment, and the entry points other apps call for a shippability decision.

A package by sub-domain; this module names what other apps and the app's own views may call.
"""

from fulfillment.errors import ShippabilityRefused
from fulfillment.services.coverage import (
    coverage_check,
    coverage_check_for_seller,
    coverage_check_for_templates,
    coverage_check_for_warehouse,
    coverage_check_request,
    sample_addresses,
    template_rules_json,
)
from fulfillment.services.incidents import (
    OverrideRequest,
    history_prune,
    incident_confirm,
    incident_resolve,
    incidents_detect,
    override_incident,
    override_record,
    refusal_record,
    spikes_find,
)
from fulfillment.services.shippability import (
    address_facts,
    offer_facts,
    region_of,
    shippability,
    shippability_json,
)
from fulfillment.services.templates import (
    template_changed_by_staff,
    template_delete,
    template_save,
)
from fulfillment.services.warehouses import (
    warehouse_before_change,
    warehouse_changed,
    warehouse_stock_allocate,
    warehouse_stock_release,
)

__all__ = [
    "OverrideRequest",
    "ShippabilityRefused",
    "address_facts",
    "coverage_check",
    "coverage_check_for_seller",
    "coverage_check_for_templates",
    "coverage_check_for_warehouse",
    "coverage_check_request",
    "history_prune",
    "incident_confirm",
    "incident_resolve",
    "incidents_detect",
    "offer_facts",
    "override_incident",
    "override_record",
    "refusal_record",
    "region_of",
    "sample_addresses",
    "shippability",
    "shippability_json",
    "spikes_find",
    "template_changed_by_staff",
    "template_delete",
    "template_rules_json",
    "template_save",
    "warehouse_before_change",
    "warehouse_changed",
    "warehouse_stock_allocate",
    "warehouse_stock_release",
]

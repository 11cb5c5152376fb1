from __future__ import annotations

from rest_framework import serializers

from core.api.serializers import StrictInput


class DeliveryWindowOutput(serializers.Serializer):
    earliest = serializers.DateField()
    latest = serializers.DateField()


class TraceStepOutput(serializers.Serializer):
    rule = serializers.CharField()
    passed = serializers.BooleanField()
    detail = serializers.CharField()


class ShippabilityOutput(serializers.Serializer):
    shippable = serializers.BooleanField()
    fulfilled_by = serializers.CharField()
    reason_code = serializers.CharField()
    message = serializers.CharField()
    ships_from = serializers.CharField(allow_null=True)
    delivery_window = DeliveryWindowOutput(allow_null=True)
    trace = TraceStepOutput(many=True, required=False, help_text="Staff only.")


class RuleInput(StrictInput):
    country = serializers.CharField(min_length=2, max_length=2)
    postal_prefix = serializers.CharField(
        max_length=10, required=False, allow_blank=True, default=""
    )
    postal_from = serializers.CharField(max_length=10, required=False, allow_blank=True, default="")
    postal_to = serializers.CharField(max_length=10, required=False, allow_blank=True, default="")
    is_excluded = serializers.BooleanField(required=False, default=False)
    transit_days_min = serializers.IntegerField(
        min_value=0, max_value=60, required=False, default=1
    )
    transit_days_max = serializers.IntegerField(
        min_value=0, max_value=60, required=False, default=3
    )


class TemplateInput(StrictInput):
    name = serializers.CharField(max_length=100)
    is_default = serializers.BooleanField(required=False, default=False)
    handling_days = serializers.IntegerField(
        min_value=0, max_value=30, required=False, allow_null=True, default=None
    )
    ships_to_po_boxes = serializers.BooleanField(required=False, default=True)
    rules = RuleInput(many=True, max_length=500)  # type: ignore[call-arg]  # DRF 3.14+ has it, the stubs lag
    offer_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, default=list, max_length=1000
    )


class RuleOutput(serializers.Serializer):
    country = serializers.CharField()
    postal_prefix = serializers.CharField()
    postal_from = serializers.CharField()
    postal_to = serializers.CharField()
    is_excluded = serializers.BooleanField()
    transit_days_min = serializers.IntegerField()
    transit_days_max = serializers.IntegerField()


class TemplateOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    is_default = serializers.BooleanField()
    handling_days = serializers.IntegerField(allow_null=True)
    ships_to_po_boxes = serializers.BooleanField()
    rules = RuleOutput(many=True, source="rules.all")
    offer_ids = serializers.SerializerMethodField()

    def get_offer_ids(self, template: object) -> list[int]:
        return sorted(offer.pk for offer in template.offers.all())  # type: ignore[attr-defined]

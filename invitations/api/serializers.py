from __future__ import annotations

from rest_framework import serializers

from core.api.serializers import StrictInput


class DropAppealInput(StrictInput):
    text = serializers.CharField(max_length=2000)


class DropOutput(serializers.Serializer):
    id = serializers.IntegerField()
    offer_id = serializers.IntegerField()
    product_title = serializers.CharField()
    units = serializers.IntegerField()
    request_opens_at = serializers.DateTimeField()
    request_closes_at = serializers.DateTimeField()
    eligible_countries = serializers.ListField(child=serializers.CharField())
    purchase_window_hours = serializers.IntegerField()
    is_open = serializers.BooleanField()
    seed_hash = serializers.CharField(
        help_text="sha256 of the lottery seed, published before the draw."
    )
    seed = serializers.CharField(allow_null=True, help_text="Revealed after the draw.")


class RequestOutput(serializers.Serializer):
    id = serializers.IntegerField()
    drop_id = serializers.IntegerField()
    state = serializers.CharField()
    requested_at = serializers.DateTimeField()
    invitation_expires_at = serializers.DateTimeField(allow_null=True)
    screened_out_reason = serializers.CharField(allow_null=True)
    appeal = serializers.CharField(allow_null=True)
